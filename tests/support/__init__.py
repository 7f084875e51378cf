"""Helpers shared by the tests, importable as ``support.<module>`` (``tests/`` is on pytest's path).

- ``web``: the app under uvicorn on loopback, a ChatKit caller, SSE parsing;
- ``agent_chat``, ``fake_openai*``: a ChatKit client for the server, and a fake OpenAI API over HTTP;
- ``store``, ``store_samples``: the chat store's request log, seeding and sample items;
- ``cognito_stand_in``: a stand-in for Cognito's hosted UI (code + PKCE) for the browser tests;
- ``infra``: CDK synthesis helpers; ``fault_injection``, ``load_audit``, ``chatkit_fuzz``, ``fuzz_runs``:
  the reliability suite's proxies, audits and generators.
"""
