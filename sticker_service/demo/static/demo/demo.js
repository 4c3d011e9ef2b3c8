// Sticker Search demo page: plain JavaScript over the public API (no build step).
//   search:        GET  /api/search/?query=&limit=&offset=   ("Load more" asks for the next offset)
//   more like this GET  /api/similar/?filename=&limit=
//   thumbs up/down POST /api/feedback/  {"feedback": [{"query", "positive": [...], "negative": [...]}]}
//   autocomplete   GET  /api/suggest/?prefix=&limit=8        (list under the search box, as one types)
//   trending row   GET  /api/trending/?limit=8&window=24h
// Searches carry a random client_id kept in localStorage, so each browser counts as one client.
// The feedback API is JSON without session authentication, so no CSRF token is involved.
// Everything shown is set with textContent / attributes (never innerHTML): titles cannot inject markup.
"use strict";

(function () {
  const params = new URLSearchParams(window.location.search);
  const pageSize = clamp(parseInt(params.get("limit"), 10) || 24, 1, 100);

  const form = document.getElementById("search-form");
  const input = document.getElementById("query");
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  const loadMore = document.getElementById("load-more");
  const cardTemplate = document.getElementById("card-template");
  const suggestionList = document.getElementById("suggestions");
  const trending = document.getElementById("trending");
  const trendingList = document.getElementById("trending-list");
  const clientId = browserClientId();

  // What the grid shows: a search ({mode: "search", query, offset}) or neighbours of a sticker.
  let state = { mode: "idle", query: "", offset: 0 };
  let generation = 0; // answers to superseded requests are dropped

  function browserClientId() {
    try {
      let id = window.localStorage.getItem("stickerClientId");
      if (!id) {
        id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
        window.localStorage.setItem("stickerClientId", id);
      }
      return id;
    } catch (err) {
      return ""; // storage off: the service counts the client by its address
    }
  }

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  function setStatus(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  async function callApi(path, options) {
    let response;
    try {
      response = await fetch(path, { credentials: "same-origin", ...options });
    } catch (err) {
      throw new Error("The sticker service cannot be reached.");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error ? body.error.message : `HTTP ${response.status}`;
      throw new Error(message);
    }
    return body;
  }

  function renderCard(sticker) {
    const card = cardTemplate.content.firstElementChild.cloneNode(true);
    card.dataset.filename = sticker.filename;
    const image = card.querySelector(".image");
    image.src = sticker.url;
    image.alt = sticker.title || sticker.filename;
    card.querySelector(".title").textContent = sticker.title || sticker.filename;
    card.querySelector(".filename").textContent = sticker.filename;
    card.querySelector(".score").textContent = `score ${sticker.score.toFixed(3)}`;
    const votes = card.querySelectorAll(".vote");
    if (state.mode === "search") {
      const query = state.query;
      votes.forEach((button) => {
        button.setAttribute("aria-pressed", "false");
        button.addEventListener("click", () => vote(card, query, sticker.filename, button));
      });
    } else {
      votes.forEach((button) => button.remove()); // votes belong to a query; "more like this" has none
    }
    card.querySelector(".similar").addEventListener("click", (event) => {
      event.preventDefault();
      showSimilar(sticker);
    });
    return card;
  }

  async function search(query, append) {
    const mine = ++generation;
    const offset = append ? state.offset + pageSize : 0;
    loadMore.disabled = true;
    if (!append) {
      setStatus(`Searching for “${query}”…`);
    }
    const searchParams = new URLSearchParams({ query, limit: pageSize, offset });
    if (clientId) searchParams.set("client_id", clientId);
    const url = `/api/search/?${searchParams}`;
    try {
      const body = await callApi(url);
      if (mine !== generation) return;
      state = { mode: "search", query: body.query, offset };
      if (!append) results.replaceChildren();
      body.stickers.forEach((sticker) => results.appendChild(renderCard(sticker)));
      const shown = results.children.length;
      setStatus(shown
        ? `${shown} sticker${shown === 1 ? "" : "s"} for “${body.query}” (model ${body.model}).`
        : `No stickers for “${body.query}”.`);
      loadMore.hidden = body.stickers.length < pageSize;
    } catch (err) {
      if (mine !== generation) return;
      setStatus(`Search failed: ${err.message}`, true);
    } finally {
      loadMore.disabled = false;
    }
  }

  async function showSimilar(sticker) {
    const mine = ++generation;
    setStatus(`Looking for stickers like “${sticker.title || sticker.filename}”…`);
    const url = `/api/similar/?${new URLSearchParams({ filename: sticker.filename, limit: pageSize })}`;
    try {
      const body = await callApi(url);
      if (mine !== generation) return;
      state = { mode: "similar", query: state.query, offset: 0 };
      results.replaceChildren(...body.stickers.map(renderCard));
      loadMore.hidden = true;
      setStatus(`${body.stickers.length} stickers like “${sticker.title || sticker.filename}” ` +
        `(${sticker.filename}). Search again to vote.`);
      window.scrollTo(0, 0);
    } catch (err) {
      if (mine !== generation) return;
      setStatus(`“More like this” failed: ${err.message}`, true);
    }
  }

  async function vote(card, query, filename, button) {
    const note = card.querySelector(".note");
    const buttons = card.querySelectorAll(".vote");
    buttons.forEach((b) => { b.disabled = true; });
    const positive = button.dataset.vote === "positive";
    const entry = { query, positive: positive ? [filename] : [], negative: positive ? [] : [filename] };
    try {
      const body = await callApi("/api/feedback/", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ feedback: [entry] }),
      });
      if (body.recorded > 0) {
        button.setAttribute("aria-pressed", "true");
        note.textContent = positive ? "Thanks, marked as a good match." : "Thanks, marked as a bad match.";
        note.classList.remove("error");
      } else {
        const reason = body.failed.length ? body.failed[0].reason.replace("_", " ") : "not recorded";
        note.textContent = `Not recorded: ${reason}.`;
        note.classList.add("error");
        buttons.forEach((b) => { b.disabled = false; });
      }
    } catch (err) {
      note.textContent = `Not recorded: ${err.message}`;
      note.classList.add("error");
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  // Autocomplete: popular past queries starting with what is typed (debounced; stale answers dropped).
  let suggestTimer = 0;
  let suggestGeneration = 0;
  let selected = -1;

  function hideSuggestions() {
    window.clearTimeout(suggestTimer); // a pending or running lookup must not reopen the list
    suggestGeneration++;
    suggestionList.hidden = true;
    suggestionList.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    selected = -1;
  }

  function choose(query) {
    input.value = query;
    hideSuggestions();
    submitSearch(query);
  }

  function showSuggestions(items) {
    selected = -1;
    suggestionList.replaceChildren(...items.map((item, index) => {
      const li = document.createElement("li");
      li.id = `suggestion-${index}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.query = item.query;
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = item.query;
      const uses = document.createElement("span");
      uses.className = "uses";
      uses.textContent = `${item.uses} searches`;
      li.append(text, uses);
      li.addEventListener("mousedown", (event) => {
        event.preventDefault(); // keep the focus in the box
        choose(item.query);
      });
      return li;
    }));
    suggestionList.hidden = items.length === 0;
    input.setAttribute("aria-expanded", String(items.length > 0));
  }

  async function suggest(prefix) {
    const mine = ++suggestGeneration;
    try {
      const body = await callApi(`/api/suggest/?${new URLSearchParams({ prefix, limit: 8 })}`);
      if (mine === suggestGeneration && input.value === prefix) showSuggestions(body.suggestions);
    } catch (err) {
      if (mine === suggestGeneration) hideSuggestions(); // suggestions are a nicety: no error shown
    }
  }

  function highlight(index) {
    const items = suggestionList.children;
    if (!items.length) return;
    selected = (index + items.length) % items.length;
    Array.from(items).forEach((li, i) => li.setAttribute("aria-selected", String(i === selected)));
    input.setAttribute("aria-activedescendant", items[selected].id);
  }

  input.addEventListener("input", () => {
    window.clearTimeout(suggestTimer);
    const prefix = input.value;
    if (!prefix.trim() || prefix.length > 64) {
      hideSuggestions();
      return;
    }
    suggestTimer = window.setTimeout(() => suggest(prefix), 120);
  });

  input.addEventListener("keydown", (event) => {
    if (suggestionList.hidden) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(selected + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && selected >= 0) {
      event.preventDefault();
      choose(suggestionList.children[selected].dataset.query);
    } else if (event.key === "Escape") {
      hideSuggestions();
    }
  });

  input.addEventListener("blur", () => window.setTimeout(hideSuggestions, 100));

  // Trending row: the queries rising in the last 24 hours, each a button that searches it.
  async function loadTrending() {
    try {
      const body = await callApi(`/api/trending/?${new URLSearchParams({ limit: 8, window: "24h" })}`);
      trendingList.replaceChildren(...body.trending.map((item) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = item.query;
        button.title = `${item.uses} searches in the last 24 hours (${item.previous_uses} the day before)`;
        button.addEventListener("click", () => choose(item.query));
        li.appendChild(button);
        return li;
      }));
      trending.hidden = body.trending.length === 0;
    } catch (err) {
      trending.hidden = true;
    }
  }

  function submitSearch(query) {
    const next = new URLSearchParams(window.location.search);
    next.set("q", query);
    window.history.replaceState(null, "", `?${next}`);
    search(query, false);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    hideSuggestions();
    const query = input.value.trim();
    if (!query) {
      setStatus("Type what the sticker should show.", true);
      return;
    }
    submitSearch(query);
  });

  loadMore.addEventListener("click", () => {
    if (state.mode === "search") search(state.query, true);
  });

  loadTrending();

  const initial = (params.get("q") || "").trim();
  if (initial) {
    input.value = initial;
    search(initial, false);
  }
})();
