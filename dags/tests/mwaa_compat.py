"""
What Amazon MWAA's oldest supported Airflow 3 line ships, for checking the generated DAG against it:
MWAA 3.0.6 runs apache-airflow 3.0.6 with apache-airflow-providers-amazon 9.12.0 and
apache-airflow-providers-common-messaging 1.0.5. The names below were read from those wheels on
PyPI (the __init__ signatures of EcsRunTaskOperator with its bases, SnsNotifier, MessageQueueTrigger)
and from airflow.sdk's exports in apache-airflow-task-sdk 1.0.6. The test environment itself runs
the newest pair (see requirements.txt), so a DAG passing both checks imports on either.
"""

# EcsRunTaskOperator.__init__ in amazon 9.12.0, plus AwsBaseOperator's.
ECS_RUN_TASK_9_12 = frozenset(
    {
        "task_definition", "cluster", "overrides", "launch_type", "capacity_provider_strategy",
        "volume_configurations", "group", "placement_constraints", "placement_strategy",
        "platform_version", "network_configuration", "tags", "awslogs_group", "awslogs_region",
        "awslogs_stream_prefix", "awslogs_fetch_interval", "container_name", "propagate_tags",
        "quota_retry", "reattach", "number_logs_exception", "wait_for_completion", "waiter_delay",
        "waiter_max_attempts", "deferrable",
        "aws_conn_id", "region_name", "verify", "botocore_config",
    }
)

# SnsNotifier.__init__ in amazon 9.12.0.
SNS_NOTIFIER_9_12 = frozenset({"aws_conn_id", "target_arn", "message", "subject", "message_attributes", "region_name"})

# MessageQueueTrigger.__init__ in common-messaging 1.0.5 (`queue` is the only named argument).
MESSAGE_QUEUE_TRIGGER_1_0_5 = frozenset({"queue"})

# BaseOperator arguments the generated DAGs use; all present in Airflow 3.0.
BASE_OPERATOR_USED = frozenset(
    {"task_id", "doc_md", "params", "retries", "retry_delay", "execution_timeout", "on_success_callback", "on_failure_callback", "do_xcom_push"}
)

# What airflow.sdk exports in task-sdk 1.0.6 (Airflow 3.0.6).
AIRFLOW_SDK_1_0_6 = frozenset(
    {
        "Asset", "AssetAlias", "AssetAll", "AssetAny", "AssetWatcher", "BaseNotifier", "BaseOperator",
        "BaseOperatorLink", "BaseSensorOperator", "Connection", "Context", "DAG", "EdgeModifier", "Label",
        "Metadata", "ObjectStoragePath", "Param", "PokeReturnValue", "TaskGroup", "Variable", "XComArg",
        "asset", "chain", "dag", "setup", "task", "teardown",
    }
)
