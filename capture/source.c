/* The frame_source interface: dispatch to each source's method table. */
#include <string.h>

#include "capture/source_internal.h"

int source_next(frame_source *s, frame *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    int rc = s->ops->next(s, f, err, errlen);
    if (rc == 0)
        f->src_ = s;
    else
        memset(f, 0, sizeof *f);
    return rc;
}

void source_release(frame *f)
{
    if (f && f->src_)
        f->src_->ops->release(f->src_, f);
    if (f)
        memset(f, 0, sizeof *f);
}

void source_interrupt(frame_source *s)
{
    if (s && s->ops->interrupt)
        s->ops->interrupt(s);
}

void source_close(frame_source *s)
{
    if (s)
        s->ops->close(s);
}

const source_info *source_get_info(const frame_source *s)
{
    return &s->info;
}
