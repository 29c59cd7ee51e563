// The search page: queries the site's own Pagefind index; the form is shown only with JavaScript.
const form = document.querySelector("form[data-pagefind]");
const input = document.getElementById("search-query");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
const selects = [...form.querySelectorAll("select[data-filter]")];
const MAX_RESULTS = 30;

form.hidden = false;
document.getElementById("search-needs-js").hidden = true;
const pagefind = await import(form.dataset.pagefind);
await pagefind.options({ excerptLength: 30 });
pagefind.init();

// Pagefind's excerpt is HTML with <mark> around hits: keep only the text and the marks.
function excerpt(html) {
  const doc = new DOMParser().parseFromString(`<p>${html}</p>`, "text/html");
  const paragraph = document.createElement("p");
  for (const node of doc.body.firstChild.childNodes) {
    if (node.nodeName === "MARK") {
      const mark = document.createElement("mark");
      mark.textContent = node.textContent;
      paragraph.append(mark);
    } else {
      paragraph.append(node.textContent);
    }
  }
  return paragraph;
}

function resultItem(data) {
  const item = document.createElement("li");
  const heading = document.createElement("h2");
  const link = document.createElement("a");
  link.href = data.url;
  link.textContent = data.meta.title || data.url;
  heading.append(link);
  item.append(heading);
  if (data.meta.dato) {
    const date = document.createElement("p");
    date.className = "meta";
    date.textContent = data.meta.dato;
    item.append(date);
  }
  item.append(excerpt(data.excerpt));
  return item;
}

function currentFilters() {
  const filters = {};
  for (const select of selects) {
    if (select.value) filters[select.dataset.filter] = select.value;
  }
  return filters;
}

// Pagefind orders results of equal score by its internal page numbers, which depend on how the
// index was made (sitegen patches it in place as pages change); the result id names the page's
// content, so ties are settled the same way however the index was made.
function byScoreThenId(a, b) {
  return b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

let latest = 0;
async function run() {
  const query = input.value.trim();
  const filters = currentFilters();
  const url = new URL(location.href);
  url.search = new URLSearchParams({ q: query, ...filters }).toString();
  history.replaceState(null, "", url);
  if (!query && !Object.keys(filters).length) {
    list.replaceChildren();
    status.textContent = "";
    return;
  }
  const ticket = ++latest;
  const search = await pagefind.search(query || null, { filters });
  const ranked = [...search.results].sort(byScoreThenId);
  const found = await Promise.all(ranked.slice(0, MAX_RESULTS).map((r) => r.data()));
  if (ticket !== latest) return; // a newer search has started
  list.replaceChildren(...found.map(resultItem));
  const count = search.results.length;
  const words = count === 1 ? "1 resultat" : `${count} resultater`;
  status.textContent = count ? (query ? `${words} for »${query}«` : words) : "Ingen resultater";
}

const params = new URLSearchParams(location.search);
input.value = params.get("q") || "";
for (const select of selects) select.value = params.get(select.dataset.filter) || "";
form.addEventListener("submit", (event) => {
  event.preventDefault();
  run();
});
for (const select of selects) select.addEventListener("change", run);
run();
