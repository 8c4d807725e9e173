/*
 * Prints the size and field offsets of the public structs of ferry.h, one
 * "struct.field offset" line each (and "struct size N"), for test_layout.py,
 * which checks the ctypes declarations of the Python package against them.
 */
#include <stddef.h>
#include <stdio.h>

#include <ferry/ferry.h>

#define SIZE(s) printf(#s " size %zu\n", sizeof(s))
#define FIELD(s, f) printf(#s "." #f " %zu\n", offsetof(s, f))

int main(void)
{
    SIZE(ferry_node_opts);
    FIELD(ferry_node_opts, domain);
    FIELD(ferry_node_opts, mode);
    FIELD(ferry_node_opts, group);

    SIZE(ferry_pubsub_opts);
    FIELD(ferry_pubsub_opts, type_name);
    FIELD(ferry_pubsub_opts, max_payload);
    FIELD(ferry_pubsub_opts, alignment);
    FIELD(ferry_pubsub_opts, history);
    FIELD(ferry_pubsub_opts, queue_capacity);
    FIELD(ferry_pubsub_opts, max_publishers);
    FIELD(ferry_pubsub_opts, max_subscribers);
    FIELD(ferry_pubsub_opts, max_loans);
    FIELD(ferry_pubsub_opts, max_borrowed);
    FIELD(ferry_pubsub_opts, overflow);
    FIELD(ferry_pubsub_opts, timestamps);

    SIZE(ferry_sample_info);
    FIELD(ferry_sample_info, sequence);
    FIELD(ferry_sample_info, timestamp_ns);
    FIELD(ferry_sample_info, publisher_id);
    FIELD(ferry_sample_info, size);

    SIZE(ferry_pub_stats);
    FIELD(ferry_pub_stats, sent);
    FIELD(ferry_pub_stats, subscribers);
    FIELD(ferry_pub_stats, loans);

    SIZE(ferry_sub_stats);
    FIELD(ferry_sub_stats, received);
    FIELD(ferry_sub_stats, lost);
    FIELD(ferry_sub_stats, publishers);
    FIELD(ferry_sub_stats, borrowed);

    SIZE(ferry_wait_opts);
    FIELD(ferry_wait_opts, spin_ns);
    FIELD(ferry_wait_opts, liveness_ns);

    SIZE(ferry_event_opts);
    FIELD(ferry_event_opts, max_event_id);
    FIELD(ferry_event_opts, max_notifiers);
    FIELD(ferry_event_opts, max_listeners);

    SIZE(ferry_state_opts);
    FIELD(ferry_state_opts, type_name);
    FIELD(ferry_state_opts, max_size);
    FIELD(ferry_state_opts, max_readers);
    FIELD(ferry_state_opts, persist_dir);

    SIZE(ferry_reqres_opts);
    FIELD(ferry_reqres_opts, request_type);
    FIELD(ferry_reqres_opts, max_request);
    FIELD(ferry_reqres_opts, response_type);
    FIELD(ferry_reqres_opts, max_response);
    FIELD(ferry_reqres_opts, alignment);
    FIELD(ferry_reqres_opts, max_clients);
    FIELD(ferry_reqres_opts, max_servers);
    FIELD(ferry_reqres_opts, max_pending);
    FIELD(ferry_reqres_opts, request_queue);
    FIELD(ferry_reqres_opts, response_queue);
    FIELD(ferry_reqres_opts, max_loans);
    FIELD(ferry_reqres_opts, max_borrowed);

    SIZE(ferry_event_info);
    FIELD(ferry_event_info, attachment);
    FIELD(ferry_event_info, kind);
    FIELD(ferry_event_info, user);
    FIELD(ferry_event_info, disconnected);
    FIELD(ferry_event_info, missed);

    SIZE(ferry_service_info);
    FIELD(ferry_service_info, name);
    FIELD(ferry_service_info, pattern);
    FIELD(ferry_service_info, type_name);
    FIELD(ferry_service_info, opts);
    FIELD(ferry_service_info, event_opts);
    FIELD(ferry_service_info, state_opts);
    FIELD(ferry_service_info, response_type);
    FIELD(ferry_service_info, publishers);
    FIELD(ferry_service_info, subscribers);
    FIELD(ferry_service_info, reqres_opts);

    SIZE(ferry_node_info);
    FIELD(ferry_node_info, name);
    FIELD(ferry_node_info, id);
    FIELD(ferry_node_info, pid);
    FIELD(ferry_node_info, uid);
    FIELD(ferry_node_info, alive);

    /* Enums travel as C int in ctypes: they must have its size. */
    SIZE(ferry_overflow);
    SIZE(ferry_pattern);
    SIZE(ferry_source_kind);
    return 0;
}
