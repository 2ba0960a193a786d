# The steps the vivid VM runs, one line each: `step NAME COMMAND [ARGS...]`.
# A step passes when COMMAND exits 0, is skipped on 77, fails otherwise; its
# output is printed on the console. Programs given with run.sh --bin are in
# /bin, files given with --data in /data (the current folder).

step "v4l2 source against vivid" test_v4l2
