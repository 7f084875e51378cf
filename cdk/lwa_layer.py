#!/usr/bin/env python3
"""``make lwa-layer REGION=<region> ARCH=<arch>``: find the Lambda Web Adapter layer version of the release
this stack uses in a region whose number ``web_adapter_layers.py`` lacks (see
:mod:`task_assistant_cdk.web_adapter_lookup`)."""

from task_assistant_cdk.web_adapter_lookup import main

if __name__ == "__main__":
    raise SystemExit(main())
