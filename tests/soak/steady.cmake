# Campaign "steady" (soak_steady.c): steady traffic with readers in other
# processes, sampled. CI runs a minute; tests/soak/run.sh runs 30.
fstore_soak_campaign(steady TIMEOUT 420
  ARGS $<TARGET_FILE:fstore_cli> --seconds 60 --rate 5000 --keys 100000
       --readers 4 --sample-s 5)
