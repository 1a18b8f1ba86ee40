# Reliability campaign "broker outage" (soak_outage.c): the broker stopped,
# then SIGKILLed, while a producer keeps producing and another process
# looks keys up; then the topic deleted and created again under both
# tail.offset_reset policies. It runs a broker of its own through
# tests/kafka/broker.sh (never the shared one), so it needs the script's
# path. The CI version uses 12 s outages; the long run, 60 s:
#   soak_outage --outage-seconds 60
fstore_soak_campaign(outage TIMEOUT 420 SERIAL ARGS --outage-seconds 12
  --react-seconds 20 --cases stop,kill)
target_sources(soak_outage PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/outage_broker.c
  ${CMAKE_CURRENT_LIST_DIR}/outage_reader.c
  ${CMAKE_CURRENT_LIST_DIR}/outage_topic.c)
target_compile_definitions(soak_outage PRIVATE
  FSTORE_SOAK_BROKER_SH="${PROJECT_SOURCE_DIR}/tests/kafka/broker.sh")
