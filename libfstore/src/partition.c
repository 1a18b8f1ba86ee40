/* Kafka's default partitioner (murmur2) for keys, as a utility. */
#include <librdkafka/rdkafka.h>

#include "internal.h"

int32_t fstore_partition_for_key(const void *key, size_t key_len,
                                 int32_t partition_count)
{
    if (partition_count < 1)
        return -1;
    return rd_kafka_msg_partitioner_murmur2(NULL, key, key_len, partition_count,
                                            NULL, NULL);
}
