"""Local persistence: a snapshot of tables and bucket restores into fresh, empty ones (binary values,
S3 objects with content type and metadata); rate-limit counters are not kept; unchanged data is not
rewritten."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from task_assistant.local.embedded import EmbeddedAWS
from task_assistant.local.persistence import Snapshotter
from task_assistant.storage.clients import dynamodb_client, s3_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


def test_snapshot_round_trip(embedded_aws: EmbeddedAWS, tmp_path: Path) -> None:
    source = embedded_aws.create_resources("snapsrc")
    ddb, s3 = dynamodb_client(source), s3_client(source)
    item: dict[str, AttributeValueTypeDef] = {
        "pk": {"S": "U#a#T#t1"},
        "sk": {"S": "THREAD"},
        "blob": {"B": b"\x00\xffzz"},
        "n": {"N": "7"},
    }
    ddb.put_item(TableName=source.chat_table_name, Item=item)
    ddb.put_item(TableName=source.chat_table_name, Item={"pk": {"S": "RATE#a#60"}, "sk": {"S": "RATE"}})
    ddb.put_item(TableName=source.tasks_table_name, Item={"pk": {"S": "a"}, "sk": {"S": "01TASK"}})
    s3.put_object(
        Bucket=source.attachments_bucket,
        Key="u/a/atc_1",
        Body=b"hello",
        ContentType="text/plain",
        Metadata={"k": "v"},
    )

    saver = Snapshotter(source, tmp_path)
    assert saver.save() is True
    assert saver.save() is False  # nothing changed: nothing rewritten

    target = embedded_aws.create_resources("snapdst")
    report = Snapshotter(target, tmp_path).restore()
    assert (report.items, report.objects) == (2, 1)
    restored = dynamodb_client(target).get_item(
        TableName=target.chat_table_name, Key={k: item[k] for k in ("pk", "sk")}
    )
    assert restored["Item"] == item
    rate = dynamodb_client(target).get_item(
        TableName=target.chat_table_name, Key={"pk": {"S": "RATE#a#60"}, "sk": {"S": "RATE"}}
    )
    assert "Item" not in rate
    obj = s3_client(target).get_object(Bucket=target.attachments_bucket, Key="u/a/atc_1")
    assert (
        obj["Body"].read() == b"hello"
        and obj["ContentType"] == "text/plain"
        and obj["Metadata"] == {"k": "v"}
    )

    # A deleted object disappears from the next snapshot too.
    s3.delete_object(Bucket=source.attachments_bucket, Key="u/a/atc_1")
    saver.save()
    assert list((tmp_path / "s3" / "objects").iterdir()) == []
