"""Data: the DynamoDB tables (from the application's own specs) and the attachments bucket."""

from __future__ import annotations

from typing import overload

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from task_assistant.storage.tables import CHAT_TABLE, TASKS_TABLE, Key, TableSpec

from .common import removal_policy
from .config import EnvironmentConfig
from .nag import acknowledge

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


@overload
def _attribute(key: Key) -> dynamodb.Attribute: ...
@overload
def _attribute(key: Key | None) -> dynamodb.Attribute | None: ...
def _attribute(key: Key | None) -> dynamodb.Attribute | None:
    return None if key is None else dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


def table_from_spec(scope: Construct, spec: TableSpec, config: EnvironmentConfig) -> dynamodb.Table:
    """A table with exactly the keys, indexes and TTL of ``spec``.

    The spec is the one the application and the embedded local services use, so the
    deployed keys cannot drift from the code. On-demand billing (idle costs nothing),
    encryption with the AWS managed KMS key, PITR and retention per environment.
    """
    removal = removal_policy(config)
    table = dynamodb.Table(
        scope,
        spec.logical_id,
        partition_key=_attribute(spec.partition_key),
        sort_key=_attribute(spec.sort_key),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        time_to_live_attribute=spec.ttl_attribute,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=config.point_in_time_recovery
        ),
        deletion_protection=config.retain_data,
        removal_policy=removal,
    )
    for index in spec.global_indexes:
        table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_attribute(index.partition_key),
            sort_key=_attribute(index.sort_key),
            projection_type=dynamodb.ProjectionType.ALL,
        )
    for index in spec.local_indexes:
        if index.partition_key != spec.partition_key:
            raise ValueError(f"{spec.logical_id}.{index.name}: an LSI must share the table's partition key")
        if index.sort_key is None:
            raise ValueError(f"{spec.logical_id}.{index.name}: an LSI needs a sort key")
        table.add_local_secondary_index(
            index_name=index.name,
            sort_key=_attribute(index.sort_key),
            projection_type=dynamodb.ProjectionType.ALL,
        )
    if not config.point_in_time_recovery:
        acknowledge(
            table,
            "AwsSolutions-DDB3",
            f"{config.name} holds disposable data; PITR is enabled where data is kept (staging, prod).",
        )
    return table


class Data(Construct):
    """The chat table, the tasks table and the attachments bucket."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, page_origin: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.chat_table = table_from_spec(self, CHAT_TABLE, config)
        self.tasks_table = table_from_spec(self, TASKS_TABLE, config)

        lifecycle = [
            # Browsers abandon multipart uploads (tab closed, network lost); the parts are
            # invisible but billed until aborted.
            s3.LifecycleRule(
                id="abort-incomplete-uploads", abort_incomplete_multipart_upload_after=Duration.days(1)
            )
        ]
        if config.item_ttl_days is not None:
            # Attachment and spill objects belong to chat items; when DynamoDB's TTL expires
            # the items, the objects must go too. One day of slack so an object never
            # disappears while its item is still readable.
            lifecycle.append(
                s3.LifecycleRule(
                    id="expire-with-chat-items", expiration=Duration.days(config.item_ttl_days + 1)
                )
            )
        cors = [
            # Presigned PUT uploads and GET previews straight from the browser: the configured
            # frontends and the stack's own page.
            s3.CorsRule(
                allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                allowed_origins=[*config.cors_origins, page_origin],
                allowed_headers=["*"],
                exposed_headers=["ETag"],
                max_age=3000,
            )
        ]
        self.bucket = s3.Bucket(
            self,
            "Attachments",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            cors=cors,
            lifecycle_rules=lifecycle,
            removal_policy=removal_policy(config),
            auto_delete_objects=not config.retain_data,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Every upload and download is issued by the app to a verified user and logged there; "
            "server access logs would need a second bucket per environment for no extra insight.",
        )
