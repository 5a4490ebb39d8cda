// A tiny element builder: h("button.primary", {onclick}, "Pay"). No innerHTML anywhere, so no markup injection
// from menu data, and nothing the page's Content-Security-Policy would refuse.
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className += (el.className ? " " : "") + value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// An inline SVG from our own static icon set, or from the API's qr_svg, parsed as SVG (never as HTML).
export function svg(markup, className) {
  const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
  const root = doc.documentElement;
  if (root.nodeName.toLowerCase() !== "svg") return h("span");
  for (const bad of root.querySelectorAll("script, foreignObject")) bad.remove();
  const node = document.importNode(root, true);
  // Scale to its box: a drawing sized in pixels (segno's QR) gets a viewBox from its own width and height.
  if (!node.getAttribute("viewBox") && node.getAttribute("width") && node.getAttribute("height")) {
    node.setAttribute("viewBox", `0 0 ${parseFloat(node.getAttribute("width"))} ${parseFloat(node.getAttribute("height"))}`);
    node.removeAttribute("width");
    node.removeAttribute("height");
  }
  if (className) node.setAttribute("class", className);
  return node;
}
