"""Tools, tool results, images and streamed tool calls through the gateway with the official
`openai` package, for one model (so each provider's translation is exercised by a real SDK).
Prints one JSON line of what it saw."""
import json
import sys

import openai

base_url, api_key, model = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
tools = [{"type": "function", "function": {
    "name": "lookup_order", "description": "Find an order",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}]
result = {}

first = client.chat.completions.create(
    model=model, tools=tools, messages=[{"role": "user", "content": "please call tool for order A-17"}])
choice = first.choices[0]
result["finish_reason"] = choice.finish_reason
calls = choice.message.tool_calls or []
result["tool_name"] = calls[0].function.name if calls else None
result["tool_arguments"] = json.loads(calls[0].function.arguments) if calls else None

if calls:
    second = client.chat.completions.create(model=model, tools=tools, messages=[
        {"role": "user", "content": "please call tool for order A-17"},
        {"role": "assistant", "content": None, "tool_calls": [c.model_dump() for c in calls]},
        {"role": "tool", "tool_call_id": calls[0].id, "content": "{\"status\": \"shipped\"}"},
        {"role": "user", "content": "thanks, summarise"},
    ])
    result["after_tool"] = second.choices[0].message.content

streamed_name, streamed_arguments, stream_finish = None, "", None
for chunk in client.chat.completions.create(
        model=model, tools=tools, stream=True,
        messages=[{"role": "user", "content": "call tool now"}]):
    if not chunk.choices:
        continue
    delta = chunk.choices[0].delta
    for call in delta.tool_calls or []:
        if call.function and call.function.name:
            streamed_name = call.function.name
        if call.function and call.function.arguments:
            streamed_arguments += call.function.arguments
    if chunk.choices[0].finish_reason:
        stream_finish = chunk.choices[0].finish_reason
result["stream_tool_name"] = streamed_name
result["stream_tool_arguments"] = json.loads(streamed_arguments) if streamed_arguments else None
result["stream_finish_reason"] = stream_finish

pixel = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
for label, url in (("data_url", pixel), ("http_url", "https://example.org/cat.png")):
    reply = client.chat.completions.create(model=model, messages=[{"role": "user", "content": [
        {"type": "text", "text": "what is in this picture"},
        {"type": "image_url", "image_url": {"url": url}}]}])
    result["image_" + label] = reply.choices[0].message.content
print(json.dumps(result))
