/* The overlay's model, independent of SDL: colours and the texts drawn. */
#include <stdio.h>
#include <string.h>

#include "display/display.h"

void overlay_init(overlay *ov)
{
    memset(ov, 0, sizeof *ov);
    ov->hud.camera_fps = -1;
    ov->hud.detections_per_s = -1;
    ov->hud.inference_ms = -1;
    ov->hud.latency_ms = -1;
    ov->hud.dropped = -1;
    ov->hud.threads = -1;
    ov->hud.score_threshold = -1;
    ov->show_hud = 1;
}

/* Saturated hues around the colour wheel, ordered so that neighbouring class
 * ids differ strongly; none is near black, white or grey, so that a box
 * stands out on a natural scene and a tag's text (black or white, whichever
 * contrasts more) stays readable. */
static const uint32_t class_palette[] = {
    0xFF3838, 0x2EB8FF, 0xFFE53B, 0x9B4DFF, 0x1FD15A, 0xFF9D1C, 0xE83BFF, 0x1CD6C8,
    0x3D5BFF, 0x9BE22D, 0xFF4FA3, 0x00A383, 0xB5733A, 0x8C8CFF, 0xFFB3B3, 0xC2A000,
};

uint32_t overlay_class_color(int class_id)
{
    int n = (int)(sizeof class_palette / sizeof class_palette[0]);
    int i = class_id % n;
    return class_palette[i < 0 ? i + n : i];
}

/* snprintf into buf at *len, tracking the full length even past n. */
#define APPEND(...)                                                              \
    do {                                                                         \
        size_t at_ = len < n ? len : n;                                          \
        int w_ = snprintf(buf ? buf + at_ : NULL, buf ? n - at_ : 0, __VA_ARGS__); \
        if (w_ > 0)                                                              \
            len += (size_t)w_;                                                   \
    } while (0)

int overlay_format_hud(const overlay_hud *h, char *buf, size_t n)
{
    size_t len = 0;
    if (buf && n)
        buf[0] = '\0';
    /* !(v >= 0) also catches NaN: unknown. */
    if (h->camera_fps >= 0) APPEND("cam %.1f fps", h->camera_fps); else APPEND("cam - fps");
    if (h->detections_per_s >= 0) APPEND("  det %.1f/s", h->detections_per_s); else APPEND("  det -/s");
    if (h->inference_ms >= 0) APPEND("  infer %.1f ms", h->inference_ms); else APPEND("  infer - ms");
    if (h->latency_ms >= 0) APPEND("  e2e %.1f ms", h->latency_ms); else APPEND("  e2e - ms");
    if (h->dropped >= 0) APPEND("  drop %lld", h->dropped); else APPEND("  drop -");
    if (h->threads >= 0) APPEND("  thr %d", h->threads); else APPEND("  thr -");
    if (h->score_threshold >= 0) APPEND("  score %.2f", h->score_threshold); else APPEND("  score -");
    return (int)len;
}

int overlay_format_tag(const overlay_box *b, char *buf, size_t n)
{
    size_t len = 0;
    if (buf && n)
        buf[0] = '\0';
    if (b->label && b->label[0])
        APPEND("%s", b->label);
    else
        APPEND("class %d", b->class_id);
    if (b->score >= 0) {
        float s = b->score > 1 ? 1 : b->score;
        APPEND(" %d%%", (int)(s * 100 + 0.5f));
    }
    return (int)len;
}
