// babymon web pages: what every page needs (the token on each request, JSON requests, building elements).
"use strict";
const PARAMS = new URLSearchParams(location.search);
const TOKEN = PARAMS.get("token");

function url(path) {
  if (!TOKEN) return path;
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

async function requestJson(path, options = {}) {
  // a failed request throws with the API's own error message
  const response = await fetch(url(path), { cache: "no-store", ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || path + ": HTTP " + response.status);
  return body;
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}
