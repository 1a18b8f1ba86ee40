# Campaign "disk full" (soak_diskfull.c): a store on a small tmpfs fills up
# while it tails; the tailer must pause with a clear error, readers keep
# serving, and once the tmpfs grows it resumes with nothing lost; a store
# whose map may not grow pauses the same way; `fstore verify` finds every
# store clean. It mounts tmpfs, so it runs as root (and fails otherwise).
if(TARGET fstore_cli)
  fstore_soak_campaign(diskfull TIMEOUT 900
    ARGS $<TARGET_FILE:fstore_cli> --mib 4)
endif()
