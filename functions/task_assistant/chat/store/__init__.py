"""ChatKit's store on DynamoDB and S3.

- :mod:`.dynamodb_store`: :class:`DynamoDBStore`, the ``chatkit.store.Store`` implementation;
- :mod:`.keys`: where every row and object lives (the key codec);
- :mod:`.bodies`: how a model is stored in its row (inline, compressed or spilled to S3);
- :mod:`.table`: the DynamoDB and S3 calls (gets, bounded queries, puts, batch deletes).
"""

from task_assistant.chat.store.dynamodb_store import DynamoDBStore

__all__ = ["DynamoDBStore"]
