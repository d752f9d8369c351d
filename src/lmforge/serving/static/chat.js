// The chat page: sends the whole conversation to /v1/chat/completions with stream: true and appends each
// server-sent delta to the reply as it arrives.
const messages = [];
const log = document.getElementById("log");

function bubble(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  log.appendChild(div);
  return div;
}

async function send(text) {
  messages.push({ role: "user", content: text });
  bubble("user", text);
  const reply = bubble("assistant", "");
  const headers = { "Content-Type": "application/json" };
  const key = document.getElementById("key").value.trim();
  if (key) headers["Authorization"] = "Bearer " + key;
  document.body.dataset.streaming = "1";
  const response = await fetch("/v1/chat/completions", {
    method: "POST", headers,
    body: JSON.stringify({ messages, stream: true, max_tokens: 256, temperature: 0 }),
  });
  if (!response.ok) {
    reply.textContent = "error " + response.status + ": " + (await response.text());
    document.body.dataset.streaming = "0";
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
      const chunk = JSON.parse(event.slice(6));
      const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
      if (delta && delta.content) {
        reply.textContent += delta.content;
        reply.dataset.chunks = String(Number(reply.dataset.chunks || 0) + 1);
      }
    }
  }
  messages.push({ role: "assistant", content: reply.textContent });
  document.body.dataset.streaming = "0";
}

document.getElementById("form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("prompt");
  const text = input.value.trim();
  if (text) { input.value = ""; send(text); }
});

fetch("/v1/models").then((r) => r.json()).then((m) => {
  document.getElementById("model").textContent = m.data && m.data.length ? m.data[0].id : "";
  document.body.dataset.ready = "1";
});
