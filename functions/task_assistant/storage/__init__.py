"""AWS clients and table definitions shared by the domain stores and the CDK stack.

:mod:`~task_assistant.storage.clients` builds the boto3 clients from settings and runs their calls off the
event loop; :mod:`~task_assistant.storage.tables` specifies the chat and tasks tables once, for the
stores (``chat/store.py``, ``tasks/repository.py``), the embedded local services and the CDK stack. The
persistence itself lives with its domain; what only one layer uses lives in that layer
(rate-limit counters in ``web/``, the embedded moto services in ``local/``).
"""
