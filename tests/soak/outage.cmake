# Reliability campaign "broker outage" (soak_outage.c): the broker stopped,
# then SIGKILLed, while a producer keeps producing and another process
# looks keys up; then the topic deleted and created again while tailing
# (with fewer records than the store applied, and with more while the
# tailing process is paused) and while the store is closed, under
# tail.offset_reset. It runs a broker of its own through
# tests/kafka/broker.sh (never the shared one), so it needs the script's
# path. CI runs 10 s outages; the long run uses 60 s:
#   soak_outage --outage-seconds 60 --cases all
fstore_soak_campaign(outage TIMEOUT 480 SERIAL
  ARGS --outage-seconds 10 --react-seconds 20)
target_sources(soak_outage PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/outage_broker.c
  ${CMAKE_CURRENT_LIST_DIR}/outage_reader.c
  ${CMAKE_CURRENT_LIST_DIR}/outage_topic.c)
target_compile_definitions(soak_outage PRIVATE
  FSTORE_SOAK_BROKER_SH="${PROJECT_SOURCE_DIR}/tests/kafka/broker.sh")
