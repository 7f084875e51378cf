"""Observability: alarms to an SNS topic (optionally e-mailed) and one dashboard."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from .api import Api
from .config import EnvironmentConfig
from .data import Data
from .functions import Functions
from .nag import acknowledge

_PERIOD = Duration.minutes(5)
_TABLE_OPERATIONS = [
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.DELETE_ITEM,
    dynamodb.Operation.QUERY,
    dynamodb.Operation.BATCH_WRITE_ITEM,
    dynamodb.Operation.TRANSACT_WRITE_ITEMS,
]


class Observability(Construct):
    """Alarms on errors, throttles, p99 duration, 5XX and DynamoDB throttling; a dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: Data,
        functions: Functions,
        api: Api,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "AlarmTopic", display_name=f"{config.prefix} alarms", enforce_ssl=True)
        acknowledge(
            self.topic,
            "AwsSolutions-SNS2",
            "CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and "
            "alarm notifications carry metric names only, no user data; a customer key costs $1/month.",
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        action = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(name: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> None:
            created = cloudwatch.Alarm(
                self,
                name,
                alarm_name=f"{config.prefix}-{name}",
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(action)
            created.add_ok_action(action)
            self.alarms.append(created)

        fns: dict[str, tuple[lambda_.Function, int]] = {
            "streaming": (functions.streaming, config.streaming_timeout_seconds),
            "api": (functions.api, config.api_timeout_seconds),
        }
        for label, (fn, timeout) in fns.items():
            alarm(
                f"{label}-errors", fn.metric_errors(period=_PERIOD), 1, f"The {label} function raised errors."
            )
            alarm(
                f"{label}-throttles",
                fn.metric_throttles(period=_PERIOD),
                1,
                f"The {label} function was throttled.",
            )
            alarm(
                f"{label}-duration-p99",
                fn.metric_duration(period=_PERIOD, statistic="p99"),
                timeout * 1000 * 0.8,
                f"The {label} function's p99 duration is above 80% of its {timeout} s timeout.",
            )
        alarm(
            "api-5xx",
            api.rest_api.metric_server_error(period=_PERIOD, statistic="Sum"),
            1,
            "The REST API answered 5XX.",
        )
        for label, table in (("chat-table", data.chat_table), ("tasks-table", data.tasks_table)):
            alarm(
                f"{label}-throttles",
                table.metric_throttled_requests_for_operations(operations=_TABLE_OPERATIONS, period=_PERIOD),
                1,
                f"DynamoDB throttled requests on the {label}.",
            )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=config.prefix)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Invocations and errors",
                left=[fn.metric_invocations(period=_PERIOD) for fn, _ in fns.values()],
                right=[fn.metric_errors(period=_PERIOD) for fn, _ in fns.values()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Duration p50 / p99 (ms)",
                left=[
                    fn.metric_duration(period=_PERIOD, statistic=s)
                    for fn, _ in fns.values()
                    for s in ("p50", "p99")
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="REST API requests, 4XX, 5XX",
                left=[api.rest_api.metric_count(period=_PERIOD)],
                right=[
                    api.rest_api.metric_client_error(period=_PERIOD),
                    api.rest_api.metric_server_error(period=_PERIOD),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="DynamoDB consumed capacity",
                left=[
                    metric
                    for table in (data.chat_table, data.tasks_table)
                    for metric in (
                        table.metric_consumed_read_capacity_units(period=_PERIOD),
                        table.metric_consumed_write_capacity_units(period=_PERIOD),
                    )
                ],
                width=12,
            ),
            # One widget per table: the per-operation expressions reuse the same metric ids.
            *(
                cloudwatch.GraphWidget(
                    title=f"DynamoDB throttled requests ({label})",
                    left=[
                        table.metric_throttled_requests_for_operations(
                            operations=_TABLE_OPERATIONS, period=_PERIOD
                        )
                    ],
                    width=6,
                )
                for label, table in (("chat", data.chat_table), ("tasks", data.tasks_table))
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24),
        )
