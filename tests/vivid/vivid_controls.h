/*
 * vivid's private controls (drivers/media/test-drivers/vivid/vivid-ctrls.c:
 * VIVID_CID_VIVID_BASE = 0x00f00000 | 0xf000), and the guest's pull-the-camera
 * cycles against a running mnv2det (reconnect_cycles.c).
 */
#ifndef MNV2DET_TESTS_VIVID_CONTROLS_H
#define MNV2DET_TESTS_VIVID_CONTROLS_H

#define VIVID_CID_COLORSPACE 0x00f0f019   /* a menu: 1 Rec. 709, 2 sRGB (the default) */
#define VIVID_CID_PERC_DROPPED 0x00f0f040 /* percentage of buffers vivid drops */
#define VIVID_CID_DISCONNECT 0x00f0f041   /* a button: the nodes vanish until every handle is closed */
#define VIVID_CID_DQBUF_ERROR 0x00f0f042  /* a button: the next buffer comes back flagged as damaged */

/* Pull vivid's camera device from under the mnv2det --reconnect --json
 * running as pid, cycles times, and check that it comes back each time:
 * hold a handle of its own, press Disconnect, wait until mnv2det has closed
 * the device, wait a little (a different share of mnv2det's half-second
 * retry each time), close the handle (vivid comes back: the time is noted)
 * and read mnv2det's output file json until a frame captured after that
 * time appears. Each resume must come within 1 s (the frame's capture
 * timestamp, CLOCK_MONOTONIC, minus the return). mnv2det's RSS, open
 * descriptors and threads are sampled after each resume and must not grow
 * after the first cycles. Prints a line per cycle and a summary; 0 when all
 * is well, 1 otherwise. */
int reconnect_cycles(const char *device, int cycles, int pid, const char *json);

#endif
