# Campaign "crash anywhere" (soak_crash.c): `fstore tail` SIGKILLed during
# bootstrap, live tailing, map growth, a rebuild after DeleteRecords and a
# snapshot, the store checked exact against an independent consumer after
# every kill. CI runs 20 kills; by hand, e.g.
#   build/release/tests/soak/soak_crash build/release/tools/fstore --kills 100
# Under ThreadSanitizer (every step several times slower) a smaller topic
# and fewer kills keep it within its time.
set(_crash_size --kills 20)
if("thread" IN_LIST FSTORE_SANITIZE)
  set(_crash_size --kills 10 --preload 100000 --keys 10000)
endif()
if(TARGET fstore_cli)
  fstore_soak_campaign(crash TIMEOUT 600
    ARGS $<TARGET_FILE:fstore_cli> ${_crash_size})
  target_sources(soak_crash PRIVATE crash_prod.c crash_run.c crash_view.c)
endif()
