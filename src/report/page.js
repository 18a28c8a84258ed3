// coreheap report: renders the JSON in <script id="data"> (the documents of
// types, top, leaks, summary, diff --format json, and the page's own tree
// and instances; see src/report/page_model.h). No library, no network.
"use strict";

var statusElement = document.getElementById("status");
var errorSeen = false;

function setStatus(text, isError) {
	statusElement.textContent = text;
	statusElement.className = isError ? "error" : "";
}

// Any error, thrown now or later (in a click), shows in the status element,
// where a person and the tests (tests/report-html.sh) see it.
window.onerror = function (message, source, line) {
	errorSeen = true;
	setStatus("error: " + message + " (line " + line + ")", true);
	return false;
};

// ---- small helpers

function el(tag, attrs) {
	var node = document.createElement(tag);
	for (var name in attrs || {}) {
		if (name === "text")
			node.textContent = attrs[name];
		else if (name === "className")
			node.className = attrs[name];
		else
			node.setAttribute(name, attrs[name]);
	}
	for (var i = 2; i < arguments.length; i++) {
		var child = arguments[i];
		if (child === null || child === undefined)
			continue;
		node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
	}
	return node;
}

function svgEl(tag, attrs) {
	var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
	for (var name in attrs)
		node.setAttribute(name, attrs[name]);
	return node;
}

// 1234567 -> "1,234,567": exact, as the JSON has it.
function fmtInt(n) {
	if (n === null || n === undefined)
		return "\u2014";
	return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function fmtSigned(n) {
	return (n > 0 ? "+" : n < 0 ? "\u2212" : "") + fmtInt(Math.abs(n));
}

function fmtBytes(n) {
	var units = ["B", "KiB", "MiB", "GiB", "TiB"];
	var i = 0;
	var value = n;
	while (value >= 1024 && i < units.length - 1) {
		value /= 1024;
		i++;
	}
	return i === 0 ? n + " B" : value.toFixed(1) + " " + units[i];
}

// A group's name as the CLI's text shows it: the type, or its size.
function typeKey(type, size) {
	return type !== null && type !== undefined ? type : "unknown (" + size + " bytes)";
}

// One colour per type, the same on every view.
function typeColor(type) {
	if (type === null || type === undefined)
		return "#bbb";
	var hash = 0;
	for (var i = 0; i < type.length; i++)
		hash = (hash * 31 + type.charCodeAt(i)) >>> 0;
	return "hsl(" + (hash % 360) + ", 55%, " + (62 + (hash >> 9) % 16) + "%)";
}

function numCell(value, text) {
	var cell = el("td", { className: "num", "data-value": value === null || value === undefined ? "" : String(value) });
	cell.textContent = text !== undefined ? text : fmtInt(value);
	return cell;
}

function parseFilter(text) {
	text = text.trim();
	if (text.length > 2 && text[0] === "/" && text[text.length - 1] === "/") {
		try {
			var re = new RegExp(text.slice(1, -1));
			return function (name) { return re.test(name); };
		} catch (e) {
			return function () { return false; };
		}
	}
	var lower = text.toLowerCase();
	return function (name) { return name.toLowerCase().indexOf(lower) >= 0; };
}

// ---- a sortable table whose rows expand into a detail row

// Rows of a table drawn before "show all".
var MAX_ROWS_DRAWN = 1000;

// columns: [{key, label, num, value(row), cell(row) -> td}]; rows: objects
// with a unique .key; expand(row) -> an element for the detail, or null
// when the row does not expand.
function SortableTable(columns, rows, options) {
	this.columns = columns;
	this.rows = rows;
	this.expand = options.expand || null;
	// Rows drawn at most, until the person asks for all: a heap of ten
	// thousand types stays quick to open, sort and filter.
	this.maxRows = options.maxRows || 0;
	this.showAll = false;
	this.sortKey = options.sortKey;
	this.sortDesc = true;
	this.filter = null;
	this.expanded = {};
	this.table = el("table", { className: options.className || "" });
	this.thead = el("thead");
	this.tbody = el("tbody");
	this.table.appendChild(this.thead);
	this.table.appendChild(this.tbody);
	var headRow = el("tr");
	var self = this;
	columns.forEach(function (column) {
		var th = el("th", { className: (column.num ? "num " : "") + (column.value ? "sortable" : ""), "data-key": column.key, text: column.label });
		if (column.value)
			th.addEventListener("click", function () {
				if (self.sortKey === column.key)
					self.sortDesc = !self.sortDesc;
				else {
					self.sortKey = column.key;
					self.sortDesc = !!column.num;
				}
				self.render();
			});
		headRow.appendChild(th);
	});
	this.thead.appendChild(headRow);
	this.render();
}

SortableTable.prototype.column = function (key) {
	for (var i = 0; i < this.columns.length; i++)
		if (this.columns[i].key === key)
			return this.columns[i];
	return null;
};

SortableTable.prototype.sorted = function () {
	var column = this.column(this.sortKey);
	var rows = this.rows.slice();
	if (!column || !column.value)
		return rows;
	var desc = this.sortDesc;
	// Array.prototype.sort is stable: equal rows keep the JSON's order.
	rows.sort(function (a, b) {
		var x = column.value(a), y = column.value(b);
		if (x === y)
			return 0;
		if (x === null || x === undefined)
			return 1;
		if (y === null || y === undefined)
			return -1;
		var order = x < y ? -1 : 1;
		return desc ? -order : order;
	});
	return rows;
};

SortableTable.prototype.render = function () {
	var self = this;
	Array.prototype.forEach.call(this.thead.querySelectorAll("th"), function (th) {
		th.classList.remove("sorted-asc", "sorted-desc");
		if (th.getAttribute("data-key") === self.sortKey)
			th.classList.add(self.sortDesc ? "sorted-desc" : "sorted-asc");
	});
	this.tbody.textContent = "";
	this.shown = 0;
	this.drawn = 0;
	this.sorted().forEach(function (row) {
		if (self.filter && !self.filter(row))
			return;
		self.shown++;
		if (self.maxRows && !self.showAll && self.drawn >= self.maxRows)
			return;
		self.drawn++;
		var tr = el("tr", { "data-key": row.key });
		self.columns.forEach(function (column) {
			tr.appendChild(column.cell(row));
		});
		self.tbody.appendChild(tr);
		if (!self.expand || !row.expandable)
			return;
		tr.classList.add("expandable");
		tr.addEventListener("click", function () { self.toggle(row, tr); });
		if (self.expanded[row.key])
			self.showDetail(row, tr);
	});
	if (this.drawn < this.shown) {
		var more = el("a", { className: "show-all", href: "javascript:void 0", text: "show all " + fmtInt(this.shown) });
		more.addEventListener("click", function () {
			self.showAll = true;
			self.render();
		});
		this.tbody.appendChild(el("tr", { className: "more" }, el("td", { colspan: String(this.columns.length), className: "muted" },
			fmtInt(this.shown - this.drawn) + " more rows not drawn (the first " + fmtInt(this.drawn) + " in this order are): filter, sort or ", more)));
	}
};

SortableTable.prototype.showDetail = function (row, tr) {
	tr.classList.add("expanded");
	var td = el("td", { colspan: String(this.columns.length) });
	td.appendChild(this.expand(row));
	var detail = el("tr", { className: "detail" }, td);
	tr.parentNode.insertBefore(detail, tr.nextSibling);
};

SortableTable.prototype.toggle = function (row, tr) {
	if (this.expanded[row.key]) {
		delete this.expanded[row.key];
		tr.classList.remove("expanded");
		var next = tr.nextSibling;
		if (next && next.classList.contains("detail"))
			next.parentNode.removeChild(next);
		return;
	}
	this.expanded[row.key] = true;
	this.showDetail(row, tr);
};

// ---- instances: why (a path from a root) and describe (fields)

function renderWhy(why) {
	var box = el("div", { className: "why" });
	if (!why) {
		box.appendChild(el("div", { className: "muted", text: "(path not on the page: coreheap why ADDR CORE gives it)" }));
		return box;
	}
	if (!why.paths || why.paths.length === 0) {
		box.appendChild(el("div", { text: "no root reaches it: leaked" }));
		return box;
	}
	why.paths.forEach(function (path) {
		box.appendChild(el("div", null, "held by ", el("b", { text: path.root.kind + " " + path.root.name })));
		var list = el("ol", { className: "chain mono" });
		path.chain.forEach(function (step, i) {
			var text = step.address + "  " + (step.type || "-");
			if (step.member)
				text += (step.member[0] === "[" ? "" : ".") + step.member;
			if (i + 1 < path.chain.length)
				text += "  (pointer at +" + step.offset + ")";
			list.appendChild(el("li", { text: text }));
		});
		box.appendChild(list);
	});
	return box;
}

// Where a pointer points, as describe's text says it: an allocation (and
// its type), module!symbol, or a thread's stack (its frame and local).
function targetText(target) {
	if (!target)
		return "";
	if (target.allocation)
		return "\u2192 allocation " + target.allocation + (target.offset ? "+" + target.offset : "") +
			(target.type ? " (" + target.type + ")" : "");
	if (target.symbol)
		return "\u2192 " + target.symbol;
	if (target.stack_of_thread !== undefined)
		return "\u2192 stack: " + (target.name || "thread " + target.stack_of_thread + ", sp+" + target.above_sp);
	return "";
}

// describe's dump of a block without a layout: hex and text, 16 bytes a
// line, each at its offset in the block, then the words that point
// somewhere.
function renderDump(desc) {
	var box = el("div");
	var hex = desc.bytes;
	var start = desc.dump_offset || 0;
	var lines = [];
	for (var at = 0; at < hex.length / 2; at += 16) {
		var chunk = hex.slice(at * 2, at * 2 + 32);
		var pairs = chunk.match(/../g) || [];
		var text = pairs.map(function (pair) {
			var c = parseInt(pair, 16);
			return c >= 32 && c < 127 ? String.fromCharCode(c) : ".";
		}).join("");
		lines.push(("+" + (start + at)).padStart(6, " ") + ": " +
			pairs.join(" ").padEnd(47, " ") + "  |" + text + "|");
	}
	box.appendChild(el("pre", { className: "mono dump", text: lines.join("\n") }));
	if (desc.pointers && desc.pointers.length) {
		var table = el("table", { className: "fields mono pointers" });
		desc.pointers.forEach(function (pointer) {
			table.appendChild(el("tr", null,
				el("td", { text: "+" + pointer.offset }),
				el("td", { text: pointer.value }),
				el("td", { className: "muted", text: targetText(pointer.points_to) })));
		});
		box.appendChild(el("div", { className: "muted", text: "pointers:" }));
		box.appendChild(table);
	}
	return box;
}

function renderDescribe(desc) {
	var box = el("div", { className: "describe" });
	if (!desc)
		return box;
	if (desc.fields && desc.fields.length) {
		var table = el("table", { className: "fields mono" });
		desc.fields.forEach(function (field) {
			var target = targetText(field.points_to);
			table.appendChild(el("tr", null,
				el("td", { text: "+" + (field.offset !== undefined ? field.offset : "") }),
				el("td", { text: field.field !== undefined ? field.field : field.path || "" }),
				el("td", { text: field.type || "" }),
				el("td", { text: field.value !== undefined ? String(field.value) : "" }),
				el("td", { className: "muted", text: target })));
		});
		box.appendChild(table);
	} else if (typeof desc.bytes === "string") {
		box.appendChild(renderDump(desc));
	} else if (desc.bytes === null) {
		box.appendChild(el("div", { className: "muted", text: "(its bytes are not all in the core)" }));
	}
	return box;
}

function renderInstances(group, note) {
	var box = el("div", { className: "instances" });
	if (!group) {
		box.appendChild(el("div", { className: "muted", text: note }));
		return box;
	}
	var rows = group.allocations.map(function (a) {
		return { key: a.address, allocation: a, expandable: true };
	});
	var table = new SortableTable([
		{ key: "address", label: "address", cell: function (r) { return el("td", { className: "mono", text: r.allocation.address }); } },
		{ key: "size", label: "size", num: true, value: function (r) { return r.allocation.size; }, cell: function (r) { return numCell(r.allocation.size); } },
		{ key: "retained", label: "retained", num: true, value: function (r) { return r.allocation.retained; }, cell: function (r) { return numCell(r.allocation.retained); } }
	], rows, {
		sortKey: "size",
		className: "instance-table",
		expand: function (r) {
			return el("div", null, renderWhy(r.allocation.why), renderDescribe(r.allocation.describe));
		}
	});
	box.appendChild(table.table);
	if (group.count > group.allocations.length)
		box.appendChild(el("div", { className: "muted", text: "the largest " + group.allocations.length + " of " + fmtInt(group.count) + " shown" }));
	return box;
}

// OLD's allocations gone from NEW: address and size (no graph of OLD).
function renderGone(group) {
	var table = el("table", { className: "gone-table mono" }, el("tr", null, el("th", { text: "address" }), el("th", { className: "num", text: "size" })));
	group.allocations.forEach(function (a) {
		table.appendChild(el("tr", { "data-key": a.address }, el("td", { text: a.address }), numCell(a.size)));
	});
	var box = el("div", null, table);
	if (group.count > group.allocations.length)
		box.appendChild(el("div", { className: "muted", text: "the largest " + group.allocations.length + " of " + fmtInt(group.count) + " shown" }));
	return box;
}

function instanceIndex(list) {
	var index = {};
	(list || []).forEach(function (group) {
		index[typeKey(group.type, group.size)] = group;
	});
	return index;
}

// ---- summary and the address-space map

function renderSummary(D) {
	var s = D.summary;
	var body = document.getElementById("summary-body");
	var kv = el("dl", { className: "kv" });
	function add(key, value) {
		kv.appendChild(el("dt", { text: key }));
		kv.appendChild(el("dd", { text: value }));
	}
	add("core", s.core.path + (s.core.truncated ? " (truncated: " + fmtInt(s.core.missing_bytes) + " bytes missing)" : ""));
	if (s.process)
		add("process", s.process.name + " (pid " + s.process.pid + "): " + (s.process.command_line || ""));
	if (s.signal)
		add("signal", "SIG" + s.signal.name + " (" + s.signal.number + ")");
	add("threads", String((s.threads || []).length));
	add("modules", String((s.modules || []).length));
	add("allocators", (s.allocators || []).map(function (a) { return a.name; }).join(", ") || "none found");
	var t = s.totals || {};
	add("live", fmtInt(t.live_count) + " allocations, " + fmtInt(t.live_bytes) + " bytes (" + fmtBytes(t.live_bytes || 0) + ")");
	add("free", fmtInt(t.free_count) + " blocks, " + fmtInt(t.free_bytes) + " bytes");
	add("reachable", fmtInt(D.top.reachable.count) + " allocations, " + fmtInt(D.top.reachable.bytes) + " bytes");
	add("leaked", fmtInt(D.leaks.leaked.count) + " allocations, " + fmtInt(D.leaks.leaked.bytes) + " bytes");
	if (D.old_summary)
		add("old core", D.old_summary.core.path);
	add("generator", D.generator);
	body.appendChild(kv);
	// The page's own list: the summary's and those of the analysis and
	// the diff (a build-id mismatch), which came after the summary.
	var warnings = D.warnings || s.warnings || [];
	if (warnings.length) {
		var list = el("ul", { id: "warnings" });
		warnings.forEach(function (w) { list.appendChild(el("li", { text: typeof w === "string" ? w : JSON.stringify(w) })); });
		body.appendChild(el("div", null, "warnings:", list));
	}
	renderMap(s);
}

var KIND_COLORS = {
	heap: "#4a8", stack: "#e9a23b", module_code: "#5b7fd6", module_data: "#8fa8e8",
	shared: "#b57bd6", file: "#9c9", anonymous: "#ccc", no_access: "#eee", kernel: "#d66"
};

// A bar of parts [name, bytes, colour] and its legend.
function renderBar(body, parts, title) {
	var bar = el("div", { className: "map-bar", title: title });
	var legend = el("div", { className: "legend" });
	parts.forEach(function (p) {
		if (p[1] > 0)
			bar.appendChild(el("div", { style: "flex-grow:" + p[1] + ";background:" + p[2], title: p[0] + ": " + fmtInt(p[1]) + " bytes" }));
		legend.appendChild(el("span", null, el("span", { className: "swatch", style: "background:" + p[2] }), p[0] + " " + fmtBytes(p[1] || 0)));
	});
	body.appendChild(el("div", { className: "muted", text: title }));
	body.appendChild(bar);
	body.appendChild(legend);
}

function renderMap(s) {
	var body = document.getElementById("map-body");
	var t = s.totals || {};
	// All mapped memory by kind (summary's "memory"), then the heaps' part.
	if (s.memory && s.memory.kinds) {
		var byKind = {};
		var heap = { live: 0, free: 0, top: 0, overhead: 0, unexplained: 0 };
		s.memory.kinds.forEach(function (k) {
			byKind[k.kind] = (byKind[k.kind] || 0) + k.bytes;
			if (k.kind === "heap") {
				heap.live += k.live_bytes || 0;
				heap.free += k.free_bytes || 0;
				heap.top += k.top_bytes || 0;
				heap.overhead += k.overhead_bytes || 0;
				heap.unexplained += k.unexplained_bytes || 0;
			}
		});
		renderBar(body, Object.keys(byKind).map(function (kind) {
			return [kind.replace("_", " "), byKind[kind], KIND_COLORS[kind] || "#999"];
		}), "mapped memory by kind: " + fmtInt(s.memory.bytes) + " bytes in " + fmtInt(s.memory.mappings) + " mappings (" +
			fmtBytes(s.memory.in_core_bytes) + " in the core, " + fmtBytes(s.memory.from_binaries_bytes) + " from binaries, " +
			fmtBytes(s.memory.left_out_bytes) + " left out, " + fmtBytes(s.memory.lost_bytes) + " lost)");
		renderBar(body, [["live", heap.live, "#4a8"], ["free", heap.free, "#9bd"], ["top", heap.top, "#bde"],
			["overhead", heap.overhead, "#db8"], ["unexplained", heap.unexplained, "#d66"]], "the heaps");
	} else {
		renderBar(body, [["live", t.live_bytes, "#4a8"], ["free", t.free_bytes, "#9bd"],
			["unexplained", t.unexplained_bytes, "#d66"]], "the heaps");
	}
	// Everything with an address, in address order: modules, arenas, stacks.
	var spans = [];
	(s.modules || []).forEach(function (m) {
		spans.push({ start: m.start, end: m.end, what: "module", name: m.name + (m.dwarf ? "" : " (no DWARF)") });
	});
	(s.regions || []).forEach(function (r) {
		spans.push({ start: r.address, end: "", what: "arena (" + r.allocator + ")", name: r.name + ": " + fmtInt(r.live_count) + " live, " + fmtBytes(r.live_bytes) + "; system " + fmtBytes(r.system_bytes) });
	});
	(s.threads || []).forEach(function (th) {
		spans.push({ start: th.sp, end: "", what: "stack", name: "thread " + th.tid + " (sp)" });
	});
	spans.sort(function (a, b) {
		var x = BigInt(a.start), y = BigInt(b.start);
		return x < y ? -1 : x > y ? 1 : 0;
	});
	var table = el("table", { className: "mono" }, el("tr", null, el("th", { text: "start" }), el("th", { text: "end" }), el("th", { text: "what" }), el("th", { text: "" })));
	spans.forEach(function (span) {
		table.appendChild(el("tr", null, el("td", { text: span.start }), el("td", { text: span.end }), el("td", { text: span.what }), el("td", { text: span.name })));
	});
	body.appendChild(table);
}

// ---- the treemap of the dominator tree

// Squarified treemap (Bruls, Huizing, van Wijk): lay out values (sorted,
// largest first) in the rectangle, keeping each row's aspect ratios near 1.
function squarify(values, x, y, w, h) {
	var total = 0;
	values.forEach(function (v) { total += v; });
	var rects = [];
	if (total <= 0 || w <= 0 || h <= 0)
		return values.map(function () { return null; });
	var scale = w * h / total;
	var areas = values.map(function (v) { return v * scale; });
	function worst(row, side) {
		var sum = 0, max = 0, min = Infinity;
		row.forEach(function (a) { sum += a; max = Math.max(max, a); min = Math.min(min, a); });
		if (sum === 0 || min === 0)
			return Infinity;
		return Math.max(side * side * max / (sum * sum), sum * sum / (side * side * min));
	}
	function place(row) {
		var sum = 0;
		row.forEach(function (a) { sum += a; });
		if (w >= h) {
			var cw = sum / h, yy = y;
			row.forEach(function (a) {
				rects.push({ x: x, y: yy, w: cw, h: a / cw });
				yy += a / cw;
			});
			x += cw;
			w -= cw;
		} else {
			var rh = sum / w, xx = x;
			row.forEach(function (a) {
				rects.push({ x: xx, y: y, w: a / rh, h: rh });
				xx += a / rh;
			});
			y += rh;
			h -= rh;
		}
	}
	var row = [];
	var i = 0;
	while (i < areas.length) {
		var side = Math.min(w, h);
		if (row.length === 0 || worst(row.concat([areas[i]]), side) <= worst(row, side)) {
			row.push(areas[i]);
			i++;
		} else {
			place(row);
			row = [];
		}
	}
	if (row.length)
		place(row);
	return rects;
}

function Treemap(D) {
	var nodes = D.tree.nodes;
	this.nodes = nodes;
	this.root = { index: -1, address: null, type: null, size: 0, retained: D.tree.bytes, rest: D.tree.rest,
		rest_types: D.tree.rest_types || [], children: [] };
	nodes.forEach(function (node, i) {
		node.index = i;
		node.children = [];
	});
	var self = this;
	nodes.forEach(function (node) {
		(node.parent < 0 ? self.root : nodes[node.parent]).children.push(node);
	});
	this.svg = document.getElementById("treemap-svg");
	this.crumbs = document.getElementById("treemap-crumbs");
	this.info = document.getElementById("treemap-info");
	this.current = this.root;
	this.svg.addEventListener("click", function (event) {
		var g = event.target.closest ? event.target.closest("g.node") : null;
		if (!g)
			return;
		var node = nodes[Number(g.getAttribute("data-index"))];
		if (zoomable(node))
			self.zoom(node);
		else
			self.describe(node);
	});
	this.svg.addEventListener("mouseover", function (event) {
		var g = event.target.closest ? event.target.closest("g.node, g.group") : null;
		if (g && g.classList.contains("node"))
			self.describe(nodes[Number(g.getAttribute("data-index"))]);
		else if (g)
			self.info.textContent = g.querySelector("title").textContent;
	});
	this.render();
}

Treemap.prototype.describe = function (node) {
	this.info.textContent = node.address + "  " + (node.type || "type unknown") + "  size " + fmtInt(node.size) +
		"  retained " + fmtInt(node.retained) + " (" + fmtBytes(node.retained) + ")";
};

Treemap.prototype.zoom = function (node) {
	this.current = node;
	this.render();
	if (node !== this.root)
		this.describe(node);
};

// The items of a node: its listed children; the children too small to
// list, by type (their count and what they retain together); then its own
// bytes and the children of the types not broken down.
function treemapItems(node) {
	var items = node.children.slice();
	var other = node.rest + node.size;
	(node.rest_types || []).forEach(function (group) {
		items.push({ group: true, type: group.type, size: group.size, count: group.count, retained: group.retained });
		other -= group.retained;
	});
	if (other > 0)
		items.push({ other: true, retained: other, type: null });
	items.sort(function (a, b) { return b.retained - a.retained; });
	return items;
}

// A node holds more than itself: listed children or children by type.
function zoomable(node) {
	return node.children.length > 0 || (node.rest_types || []).length > 0;
}

// A treemap item's tooltip and label.
function treemapTitle(item) {
	if (item.other)
		return "own bytes and smaller allocations: " + fmtInt(item.retained) + " bytes";
	if (item.group)
		return fmtInt(item.count) + " \u00d7 " + typeKey(item.type, item.size) +
			", each too small to list, retaining " + fmtInt(item.retained) + " bytes together";
	return item.address + " " + (item.type || "type unknown") + "\nretained " + fmtInt(item.retained) + " bytes";
}

function treemapLabel(item) {
	if (item.other)
		return "(own and smaller)";
	if (item.group)
		return fmtInt(item.count) + " \u00d7 " + typeKey(item.type, item.size) + " " + fmtBytes(item.retained);
	return (item.type || "?") + " " + fmtBytes(item.retained);
}

Treemap.prototype.drawLevel = function (node, x, y, w, h, depth) {
	var items = treemapItems(node);
	var rects = squarify(items.map(function (item) { return item.retained; }), x, y, w, h);
	var self = this;
	items.forEach(function (item, i) {
		var r = rects[i];
		if (!r || r.w < 1 || r.h < 1)
			return;
		var g = svgEl("g", item.other ? { "class": "other" } :
			item.group ? { "class": "group", "data-type": typeKey(item.type, item.size), "data-count": String(item.count),
				"data-retained": String(item.retained), "data-parent": node.address || "" } :
			{ "class": "node", "data-index": String(item.index), "data-address": item.address, "data-zoom": zoomable(item) ? "1" : "0" });
		var title = svgEl("title", {});
		title.textContent = treemapTitle(item);
		g.appendChild(title);
		g.appendChild(svgEl("rect", {
			x: r.x.toFixed(2), y: r.y.toFixed(2), width: r.w.toFixed(2), height: r.h.toFixed(2),
			fill: item.other ? "#e4e4e4" : typeColor(item.type),
			"fill-opacity": item.group ? "0.6" : depth ? "0.85" : "1"
		}));
		if (r.w > 50 && r.h > 14) {
			var label = svgEl("text", { x: (r.x + 3).toFixed(2), y: (r.y + 12).toFixed(2) });
			var name = treemapLabel(item);
			label.textContent = name.length * 6 > r.w ? name.slice(0, Math.max(1, Math.floor(r.w / 6) - 1)) + "\u2026" : name;
			g.appendChild(label);
		}
		self.svg.appendChild(g);
		// One level of what it contains, inside it.
		if (!item.other && !item.group && depth < 1 && zoomable(item) && r.w > 40 && r.h > 36)
			self.drawLevel(item, r.x + 3, r.y + 16, r.w - 6, r.h - 19, depth + 1);
	});
};

Treemap.prototype.render = function () {
	this.svg.textContent = "";
	this.drawLevel(this.current, 0, 0, 1000, 480, 0);
	this.crumbs.textContent = "";
	var path = [];
	for (var node = this.current; node !== this.root; node = node.parent < 0 ? this.root : this.nodes[node.parent])
		path.unshift(node);
	path.unshift(this.root);
	var self = this;
	path.forEach(function (node, i) {
		var text = node === self.root ?
			"all reachable (" + fmtBytes(node.retained) + ")" :
			(node.type || "?") + " " + node.address;
		if (i + 1 < path.length) {
			var link = el("a", { text: text });
			link.addEventListener("click", function () { self.zoom(node); });
			self.crumbs.appendChild(link);
			self.crumbs.appendChild(document.createTextNode(" \u203a "));
		} else {
			self.crumbs.appendChild(el("b", { id: "treemap-current", "data-address": node.address || "", text: text }));
		}
	});
	if (this.nodes.length === 0)
		this.info.textContent = "no allocation is reachable";
};

// ---- types, leaks, damage, diff

function renderTypes(D) {
	var retained = {};
	(D.top.types || []).forEach(function (t) { retained[typeKey(t.type, t.size)] = t.retained; });
	var instances = instanceIndex(D.instances);
	var rows = D.types.types.map(function (t) {
		var key = typeKey(t.type, t.size);
		return { key: key, type: t, retained: key in retained ? retained[key] : null, expandable: true };
	});
	var table = new SortableTable([
		{ key: "type", label: "type", value: function (r) { return r.key; }, cell: function (r) { return el("td", { className: "mono type", text: r.key }); } },
		{ key: "count", label: "count", num: true, value: function (r) { return r.type.count; }, cell: function (r) { return numCell(r.type.count); } },
		{ key: "bytes", label: "bytes", num: true, value: function (r) { return r.type.bytes; }, cell: function (r) { return numCell(r.type.bytes); } },
		{ key: "share", label: "share", num: true, value: function (r) { return r.type.share; }, cell: function (r) { return numCell(r.type.share, (100 * r.type.share).toFixed(1) + "%"); } },
		{ key: "retained", label: "retained", num: true, value: function (r) { return r.retained; }, cell: function (r) { return numCell(r.retained); } }
	], rows, {
		sortKey: "bytes",
		className: "types-table",
		maxRows: MAX_ROWS_DRAWN,
		expand: function (r) {
			return renderInstances(instances[r.key], "instances are embedded for the " + D.limit + " largest types only (--limit)");
		}
	});
	var body = document.getElementById("types-body");
	body.appendChild(table.table);
	body.appendChild(el("p", { className: "muted", text: "total: " + fmtInt(D.types.total.count) + " allocations, " + fmtInt(D.types.total.bytes) +
		" bytes. Retained is the bytes the type's outermost allocations keep alive, for the " + (D.top.types || []).length + " types that retain most (--limit)." }));
	var filterBox = document.getElementById("types-filter");
	var shown = document.getElementById("types-shown");
	function applyFilter() {
		var match = filterBox.value ? parseFilter(filterBox.value) : null;
		table.filter = match ? function (r) { return match(r.key); } : null;
		table.render();
		shown.textContent = table.shown + " of " + rows.length + " types";
	}
	filterBox.addEventListener("input", applyFilter);
	applyFilter();
	return table;
}

function renderLeaks(D) {
	var leaks = D.leaks;
	var body = document.getElementById("leaks-body");
	body.appendChild(el("p", { text: fmtInt(leaks.leaked.count) + " leaked allocations, " + fmtInt(leaks.leaked.bytes) + " bytes: " +
		fmtInt(leaks.leaked.unreferenced) + " unreferenced (nothing points to them), " + fmtInt(leaks.leaked.indirect) + " indirect (only other leaks do)." }));
	if (!leaks.types || leaks.types.length === 0)
		return null;
	var rows = leaks.types.map(function (t) { return { key: typeKey(t.type, t.size), t: t }; });
	var table = new SortableTable([
		{ key: "type", label: "type", value: function (r) { return r.key; }, cell: function (r) { return el("td", { className: "mono", text: r.key }); } },
		{ key: "count", label: "count", num: true, value: function (r) { return r.t.count; }, cell: function (r) { return numCell(r.t.count); } },
		{ key: "bytes", label: "bytes", num: true, value: function (r) { return r.t.bytes; }, cell: function (r) { return numCell(r.t.bytes); } },
		{ key: "unreferenced", label: "unreferenced", num: true, value: function (r) { return r.t.unreferenced; }, cell: function (r) { return numCell(r.t.unreferenced); } }
	], rows, { sortKey: "bytes", className: "leaks-table", maxRows: MAX_ROWS_DRAWN });
	body.appendChild(table.table);
	var listed = leaks.allocations || [];
	if (listed.length) {
		var list = el("div", { className: "mono" }, "first leaked allocations: ");
		list.appendChild(document.createTextNode(listed.map(function (a) {
			return a.address + " (" + (a.type || "?") + ", " + a.size + " B, " + a.leak + ")";
		}).join("; ")));
		if (leaks.leaked.count > listed.length)
			list.appendChild(el("span", { className: "muted", text: " \u2026 and " + fmtInt(leaks.leaked.count - listed.length) + " more (coreheap leaks lists all)" }));
		body.appendChild(list);
	}
	return table;
}

function renderDamage(D) {
	var body = document.getElementById("damage-body");
	var damage = D.summary.damage || [];
	if (damage.length === 0) {
		body.appendChild(el("p", { id: "damage-none", text: "none found" }));
		return;
	}
	var table = el("table", { className: "damage-table" }, el("tr", null, el("th", { text: "allocator" }), el("th", { text: "address" }), el("th", { text: "problem" })));
	damage.forEach(function (d) {
		table.appendChild(el("tr", null, el("td", { text: d.allocator }), el("td", { className: "mono", text: d.address }), el("td", { text: d.message })));
	});
	body.appendChild(table);
}

function renderDiff(D) {
	if (!D.diff)
		return null;
	document.getElementById("diff").classList.remove("hidden");
	document.getElementById("nav-diff").classList.remove("hidden");
	var diff = D.diff;
	var instances = instanceIndex(D.new_instances);
	var gone = instanceIndex(D.gone_instances);
	var body = document.getElementById("diff-body");
	body.appendChild(el("p", { text: "OLD " + diff.old + ", NEW " + diff.new + ": allocations kept " + fmtInt(diff.allocations.kept) +
		", new " + fmtInt(diff.allocations.new) + ", gone " + fmtInt(diff.allocations.gone) + "." }));
	function change(now, before) { return now - before; }
	function changeCell(value) {
		var cell = numCell(value, fmtSigned(value));
		cell.className += value > 0 ? " grow" : value < 0 ? " shrink" : "";
		return cell;
	}
	var rows = diff.types.map(function (t) {
		var key = typeKey(t.type, t.size);
		return { key: key, t: t, expandable: !!instances[key] || !!gone[key] };
	});
	var table = new SortableTable([
		{ key: "type", label: "type", value: function (r) { return r.key; }, cell: function (r) { return el("td", { className: "mono", text: r.key }); } },
		{ key: "count_old", label: "count old", num: true, value: function (r) { return r.t.count_old; }, cell: function (r) { return numCell(r.t.count_old); } },
		{ key: "count_new", label: "count new", num: true, value: function (r) { return r.t.count_new; }, cell: function (r) { return numCell(r.t.count_new); } },
		{ key: "count_change", label: "change", num: true, value: function (r) { return change(r.t.count_new, r.t.count_old); }, cell: function (r) { return changeCell(change(r.t.count_new, r.t.count_old)); } },
		{ key: "bytes_old", label: "bytes old", num: true, value: function (r) { return r.t.bytes_old; }, cell: function (r) { return numCell(r.t.bytes_old); } },
		{ key: "bytes_new", label: "bytes new", num: true, value: function (r) { return r.t.bytes_new; }, cell: function (r) { return numCell(r.t.bytes_new); } },
		{ key: "bytes_change", label: "change", num: true, value: function (r) { return change(r.t.bytes_new, r.t.bytes_old); }, cell: function (r) { return changeCell(change(r.t.bytes_new, r.t.bytes_old)); } },
		{ key: "retained_change", label: "retained change", num: true, value: function (r) { return change(r.t.retained_new, r.t.retained_old); }, cell: function (r) { return changeCell(change(r.t.retained_new, r.t.retained_old)); } }
	], rows, {
		sortKey: "bytes_change",
		className: "diff-table",
		maxRows: MAX_ROWS_DRAWN,
		expand: function (r) {
			var box = el("div");
			if (instances[r.key]) {
				box.appendChild(el("div", { className: "muted", text: "allocations of NEW that OLD does not hold (largest first):" }));
				box.appendChild(renderInstances(instances[r.key], ""));
			}
			if (gone[r.key]) {
				box.appendChild(el("div", { className: "muted", text: "allocations of OLD that NEW does not hold (largest first; freed, or reused for another type or size):" }));
				box.appendChild(renderGone(gone[r.key]));
			}
			return box;
		}
	});
	body.appendChild(table.table);
	return table;
}

// ---- the self-test (#selftest): clicks as a person would, results in the DOM

function selfTest(views) {
	var results = [];
	function record(name, ok, detail) {
		results.push(name + ": " + (ok ? "ok" : "FAIL") + (detail ? " " + detail : ""));
	}
	function click(node) {
		node.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, view: window }));
	}
	// A treemap node that contains others: clicking zooms into it.
	var zoomable = document.querySelector("#treemap-svg g.node[data-zoom='1'] rect");
	if (zoomable) {
		var address = zoomable.parentNode.getAttribute("data-address");
		click(zoomable);
		var current = document.getElementById("treemap-current");
		record("treemap-click", current && current.getAttribute("data-address") === address &&
			document.querySelectorAll("#treemap-svg g.node").length > 0, "zoomed to " + address);
	} else {
		record("treemap-click", document.querySelectorAll("#treemap-svg g.node").length === views.treemap.nodes.length,
			"nothing to zoom into; " + views.treemap.nodes.length + " nodes drawn");
	}
	// A type row: clicking lists its largest instances; an instance, its path.
	var typeRow = document.querySelector(".types-table > tbody > tr.expandable");
	if (typeRow) {
		var typeName = typeRow.getAttribute("data-key");
		click(typeRow);
		var detail = typeRow.nextSibling;
		var instanceRows = detail && detail.classList.contains("detail") ?
			detail.querySelectorAll(".instance-table > tbody > tr.expandable") : [];
		record("types-click", instanceRows.length > 0, typeName + ": " + instanceRows.length + " instances");
		if (instanceRows.length) {
			click(instanceRows[0]);
			var why = instanceRows[0].nextSibling ? instanceRows[0].nextSibling.querySelector(".why") : null;
			record("instance-click", !!why, why ? why.textContent.slice(0, 120) : "no path shown");
		}
		// Sort by count, then filter on the type's name.
		var countHeader = document.querySelector(".types-table th[data-key='count']");
		click(countHeader);
		var counts = Array.prototype.map.call(document.querySelectorAll(".types-table > tbody > tr:not(.detail):not(.more) > td:nth-child(2)"),
			function (td) { return Number(td.getAttribute("data-value")); });
		var sorted = counts.every(function (c, i) { return i === 0 || counts[i - 1] >= c; });
		record("types-sort", sorted && counts.length === views.types.drawn, counts.length + " rows by count");
		var box = document.getElementById("types-filter");
		box.value = typeName;
		box.dispatchEvent(new Event("input", { bubbles: true }));
		var shownRows = document.querySelectorAll(".types-table > tbody > tr:not(.detail):not(.more)");
		var all = Array.prototype.every.call(shownRows, function (tr) {
			return tr.getAttribute("data-key").toLowerCase().indexOf(typeName.toLowerCase()) >= 0;
		});
		record("types-filter", all && shownRows.length >= 1, shownRows.length + " rows match");
		box.value = "";
		box.dispatchEvent(new Event("input", { bubbles: true }));
	} else {
		record("types-click", views.types.rows.length === 0, "no type rows");
	}
	// An untyped instance with pointers: its dump lists them, as the JSON.
	var untyped = null;
	D.instances.forEach(function (group) {
		group.allocations.forEach(function (a) {
			if (!untyped && a.describe && typeof a.describe.bytes === "string" && a.describe.pointers.length)
				untyped = { key: typeKey(group.type, group.size), allocation: a };
		});
	});
	if (untyped) {
		var filterBox = document.getElementById("types-filter");
		filterBox.value = "";
		filterBox.dispatchEvent(new Event("input", { bubbles: true }));
		var untypedRow = Array.prototype.filter.call(document.querySelectorAll(".types-table > tbody > tr.expandable"),
			function (tr) { return tr.getAttribute("data-key") === untyped.key; })[0];
		if (untypedRow && !untypedRow.classList.contains("expanded"))
			click(untypedRow);
		var instanceRow = untypedRow && untypedRow.nextSibling ?
			Array.prototype.filter.call(untypedRow.nextSibling.querySelectorAll(".instance-table > tbody > tr"),
				function (tr) { return tr.getAttribute("data-key") === untyped.allocation.address; })[0] : null;
		if (instanceRow)
			click(instanceRow);
		var shownPointers = instanceRow && instanceRow.nextSibling ?
			Array.prototype.map.call(instanceRow.nextSibling.querySelectorAll(".pointers tr"), function (tr) {
				return tr.children[1].textContent;
			}) : [];
		var wantPointers = untyped.allocation.describe.pointers.map(function (p) { return p.value; });
		record("dump-click", shownPointers.join(" ") === wantPointers.join(" "),
			untyped.key + " " + untyped.allocation.address + ": pointers " + shownPointers.join(" "));
	} else {
		record("dump-click", true, "no untyped instance with pointers");
	}
	if (views.diff) {
		var diffRow = document.querySelector(".diff-table > tbody > tr.expandable");
		if (diffRow) {
			click(diffRow);
			var newRows = diffRow.nextSibling ? diffRow.nextSibling.querySelectorAll(".instance-table > tbody > tr") : [];
			record("diff-click", newRows.length > 0, diffRow.getAttribute("data-key") + ": " + newRows.length + " new allocations");
			// The largest new allocation: its path from a root.
			if (newRows.length) {
				click(newRows[0]);
				var newWhy = newRows[0].nextSibling ? newRows[0].nextSibling.querySelector(".why") : null;
				record("diff-instance-click", !!newWhy && newWhy.textContent.indexOf("held by") === 0,
					newWhy ? newWhy.textContent.slice(0, 120) : "no path shown");
			}
		} else {
			record("diff-click", D.diff.allocations.new === 0, "no new allocations");
		}
		// A type that lost allocations: its gone ones, as the JSON lists them.
		var goneGroup = (D.gone_instances || [])[0];
		if (goneGroup) {
			var goneKey = typeKey(goneGroup.type, goneGroup.size);
			var goneRow = Array.prototype.filter.call(document.querySelectorAll(".diff-table > tbody > tr.expandable"),
				function (tr) { return tr.getAttribute("data-key") === goneKey; })[0];
			if (goneRow && !goneRow.classList.contains("expanded"))
				click(goneRow);
			var goneShown = goneRow && goneRow.nextSibling ?
				Array.prototype.map.call(goneRow.nextSibling.querySelectorAll(".gone-table tr[data-key]"), function (tr) {
					return tr.getAttribute("data-key");
				}) : [];
			var goneWant = goneGroup.allocations.map(function (a) { return a.address; });
			record("gone-click", goneShown.join(" ") === goneWant.join(" "), goneKey + ": " + goneShown.length + " gone allocations");
		} else {
			record("gone-click", D.diff.allocations.gone === 0, "no gone allocations");
		}
	}
	var section = document.getElementById("selftest");
	section.classList.remove("hidden");
	document.getElementById("selftest-result").textContent = results.join("\n");
	var failed = results.some(function (line) { return line.indexOf(": FAIL") >= 0; });
	return !failed;
}

var D = JSON.parse(document.getElementById("data").textContent);

(function main() {
	try {
		renderSummary(D);
		var views = {};
		views.treemap = new Treemap(D);
		views.diff = renderDiff(D);
		views.types = renderTypes(D);
		views.leaks = renderLeaks(D);
		renderDamage(D);
		var passed = location.hash === "#selftest" ? selfTest(views) : true;
		// An error in a click handler went to window.onerror: it stays.
		if (!errorSeen)
			setStatus(passed ? "ok" : "selftest failed", !passed);
		// From the start of the navigation to the page drawn: what a
		// person waits (tests/report-html.sh and make bench read it).
		var renderMs = Math.round(performance.now());
		statusElement.setAttribute("data-render-ms", String(renderMs));
		statusElement.title = "drawn " + renderMs + " ms after the page was opened";
	} catch (e) {
		setStatus("error: " + e.message, true);
		throw e;
	}
})();
