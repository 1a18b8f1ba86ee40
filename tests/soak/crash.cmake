# Campaign "crash anywhere" (soak_crash.c): `fstore tail` SIGKILLed during
# bootstrap, live tailing, map growth, a rebuild after DeleteRecords and a
# snapshot, the store checked exact against an independent consumer after
# every kill. CI runs 20 kills; by hand, e.g.
#   build/release/tests/soak/soak_crash build/release/tools/fstore --kills 100
if(TARGET fstore_cli)
  fstore_soak_campaign(crash TIMEOUT 600
    ARGS $<TARGET_FILE:fstore_cli> --kills 20)
  target_sources(soak_crash PRIVATE crash_prod.c crash_run.c crash_view.c)
endif()
