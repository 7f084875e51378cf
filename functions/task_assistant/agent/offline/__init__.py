"""The offline model: a deterministic, network-free stand-in for an LLM behind the same agent and tools.

It implements the Agents SDK :class:`~agents.models.interface.Model` interface, so the Runner, the MCP
task tools, ChatKit's streaming bridge and the stores all run exactly as they do with OpenAI; only the
"thinking" is a small rule-based parser. It is what runs when no API key is configured, and it makes
the whole assistant usable (and testable) on a laptop with no account.

Modules, in the order one call runs through them: :mod:`.conversation` reads the model input,
:mod:`.intents` understands the user's message (with :mod:`.naming`, the phrases that name existing
tasks), :mod:`.references` says which tasks they mean,
:mod:`.planner` decides the next step (asking :mod:`.questions` and saying :mod:`.replies`), :mod:`.events`
builds the Responses API output and stream, and :mod:`.model` is the ``Model`` that ties them together.

One call of the model looks at the conversation it is given and either

- calls task tools (``function_call`` output items with the task tools' own argument names: one per task
  when the message names several; the Runner runs them in order), or
- after the tool results of this turn are in, streams a short reply in several text deltas.

What it understands (case-insensitive, everyday phrasings):

=============  ==========================================================================
add            "add buy milk", "remind me to call mom", "I need to water the plants",
               "add buy milk with note: 2 litres", "new task: pay rent",
               "add three tasks: bread, eggs and jam", "add:" then one task per line
list           "what's on my list", "show my tasks", "list completed tasks", "what's left"
complete       "mark buy milk as done", "I finished call mom", "complete the first one",
               "buy milk is done", "check off #2", "complete the first and third ones",
               "I finished everything", "mark all as done"
reopen         "reopen buy milk", "mark buy milk as not done", "uncheck the second one", "reopen all"
rename         "rename buy milk to buy oat milk", "change the 2nd one to call dad"
notes          "add a note to buy milk: semi-skimmed", "note for pay rent: before the 5th"
delete         "delete the second one", "remove call mom", "delete the milk one",
               "delete all completed tasks" (at once), "delete everything" (asks first)
=============  ==========================================================================

A task is named by its title ("buy milk", "the milk one"), an @-mention (the tagged task's id), its id
or short id ("#x7k2"), or its position ("the second one", "#2", "the last one") in the most recent list
shown in the conversation: the last ``list_tasks`` result of this turn, the last task-list widget in the
history (rendered by :mod:`task_assistant.agent.listing`), or the candidates of its own "which one do you
mean?". If no list is known yet, it lists the tasks first and then acts. When a title matches several
tasks it asks which one, numbered with short ids, and a bare answer ("the second one", "#x7k2", "the done
one") finishes the request. Attachments are acknowledged by name; greetings and anything it does not
understand get a short help text. The first reply of a thread says that this is the offline assistant.
"""

from task_assistant.agent.offline.conversation import Conversation, read_conversation
from task_assistant.agent.offline.events import OFFLINE_MODEL_NAME, stream_events_for
from task_assistant.agent.offline.intents import Intent, IntentKind, parse_intent
from task_assistant.agent.offline.model import OfflineModel
from task_assistant.agent.offline.naming import ordinal_of
from task_assistant.agent.offline.planner import Call, Reply, decide
from task_assistant.agent.offline.replies import HELP_TEXT, OFFLINE_NOTE, with_offline_note

__all__ = [
    "HELP_TEXT",
    "OFFLINE_MODEL_NAME",
    "OFFLINE_NOTE",
    "Call",
    "Conversation",
    "Intent",
    "IntentKind",
    "OfflineModel",
    "Reply",
    "decide",
    "ordinal_of",
    "parse_intent",
    "read_conversation",
    "stream_events_for",
    "with_offline_note",
]
