# The steps the vivid VM runs, one line each: `step NAME COMMAND [ARGS...]`.
# A step passes when COMMAND exits 0, is skipped on 77, fails otherwise; its
# output is printed on the console. Programs given with run.sh --bin are in
# /bin, files given with --data in /data (the current folder: models/ is
# there, so mnv2det finds its default model). vivid's capture node is
# /dev/video0. For example:
#   step "mnv2det lists vivid" mnv2det --list-devices

# The driver's own view, when v4l2-ctl (v4l-utils) was on the host.
if command -v v4l2-ctl >/dev/null; then
  step "vivid as v4l2-ctl sees it" v4l2-ctl -d /dev/video0 --info --get-input --get-fmt-video --get-parm
fi
step "v4l2 source against vivid" test_v4l2
