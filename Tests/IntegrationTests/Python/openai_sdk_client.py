"""Drives the gateway with the official `openai` Python package, as a user would: the base URL
changed to the gateway, a gateway key as the API key. Prints one JSON line of what it saw;
exits non-zero when the SDK raised."""
import json
import sys

import openai

base_url, api_key, model = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
result = {}

completion = client.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "hello from the sdk"}])
result["content"] = completion.choices[0].message.content
result["prompt_tokens"] = completion.usage.prompt_tokens
raw = client.chat.completions.with_raw_response.create(
    model=model, messages=[{"role": "user", "content": "headers please"}])
result["x_provider"] = raw.headers.get("x-provider")

pieces = []
usage = None
stream = client.chat.completions.create(
    model=model, messages=[{"role": "user", "content": "stream to the sdk"}], stream=True,
    stream_options={"include_usage": True})
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
    if chunk.usage:
        usage = chunk.usage.completion_tokens
result["streamed"] = "".join(pieces)
result["stream_usage"] = usage

try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    result["unknown_model"] = "no error"
except openai.NotFoundError as error:
    result["unknown_model"] = error.code if hasattr(error, "code") else "not_found"

try:
    openai.OpenAI(base_url=base_url, api_key="gw_wrong", max_retries=0).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "x"}])
    result["bad_key"] = "no error"
except openai.AuthenticationError:
    result["bad_key"] = "authentication_error"

models = client.models.list()
result["models"] = len(models.data)
print(json.dumps(result))
