# Campaign "steady" (soak_steady.c): steady traffic with readers in other
# processes, sampled. CI runs a minute; tests/soak/run.sh runs 30.
# Under ThreadSanitizer the instrumented tailer cannot keep 5k records/s on
# two shared cores: a lighter load there.
set(_steady_load --rate 5000 --keys 100000)
if("thread" IN_LIST FSTORE_SANITIZE)
  set(_steady_load --rate 1000 --keys 20000)
endif()
fstore_soak_campaign(steady TIMEOUT 420
  ARGS $<TARGET_FILE:fstore_cli> --seconds 60 ${_steady_load}
       --readers 4 --sample-s 5)
