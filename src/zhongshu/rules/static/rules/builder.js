// The visual rule builder (Alpine.js, loaded by Unfold's base template).
//
// The condition is edited as a tree of plain objects: groups {kind: "group", op: all|any|not, items}
// and comparisons {kind: "cmp", fact, op, value, quantifier, param}. It is shown as a flat list of
// indented rows, turned back into the rules engine's JSON (with each row's path, such as
// condition.all[1], so the server's errors land next to their row), sent to the server for the
// plain-language preview while the user edits, and posted with the form when they save.
// A "not" group means "not all of these": one item becomes {not: item}, several {not: {all: [...]}}.

document.addEventListener("alpine:init", () => {
  let nextId = 1;
  const NO_VALUE = ["is_true", "is_false"];
  const LISTS = ["in", "not_in"];
  const NUMBERS = ["money", "number", "percent"];
  const ACTION_FIELDS = {
    hold: ["reason", "code"], manual_review: ["reason"], flag: ["flag"],
    pause_shipping_and_notify: ["reason"], route_to_warehouse: ["warehouse"],
    choose_carrier: ["carrier"], add_tag: ["tag"],
  };
  const OPTIONAL = ["code"];
  const SETTINGS = ["enabled", "dry_run", "priority", "actions"];

  function group(op, items) {
    return { id: nextId++, kind: "group", op, items };
  }

  function comparison(fact, op, value, quantifier, param) {
    return { id: nextId++, kind: "cmp", fact, op, value, quantifier: quantifier || "any", param: param ?? 24 };
  }

  function fromJSON(node) {
    if (node.all || node.any) {
      const op = node.all ? "all" : "any";
      return group(op, node[op].map(fromJSON));
    }
    if (node.not) {
      const inner = node.not.all ? node.not.all : [node.not];
      return group("not", inner.map(fromJSON));
    }
    const value = Array.isArray(node.value) ? node.value.join(", ") : node.value ?? "";
    return comparison(node.fact, node.op, String(value), node.quantifier, node.param);
  }

  function actionFromJSON(a) {
    return { id: nextId++, type: a.type, reason: "", code: "", flag: "", warehouse: "", carrier: "", tag: "", ...a };
  }

  Alpine.data("ruleBuilder", () => {
    const data = JSON.parse(document.getElementById("rule-builder-data").textContent);
    const facts = Object.fromEntries(data.facts.map((f) => [f.name, f]));
    const condition = data.rule.condition || {};
    return {
      ...data,
      root: condition.all || condition.any || condition.not ? fromJSON(condition) : group("all", []),
      actionList: (data.rule.actions || []).map(actionFromJSON),
      enabled: data.rule.enabled,
      dryRun: data.rule.dry_run,
      priority: data.rule.priority,
      preview: data.preview,
      sent: null,
      timer: null,

      // --- the tree as rows and as the engine's JSON -----------------------------------------------

      walk(node, path, depth, rows) {
        rows.push({ node, path, depth });
        if (node.kind === "cmp") return this.cmpJSON(node);
        if (node.op === "not") {
          const one = node.items.length === 1;
          const json = node.items.map((c, i) => this.walk(c, one ? `${path}.not` : `${path}.not.all[${i}]`, depth + 1, rows));
          return { not: one ? json[0] : { all: json } };
        }
        return { [node.op]: node.items.map((c, i) => this.walk(c, `${path}.${node.op}[${i}]`, depth + 1, rows)) };
      },

      cmpJSON(c) {
        const fact = facts[c.fact];
        const out = { fact: c.fact, op: c.op };
        if (!fact) return out;
        if (LISTS.includes(c.op)) out.value = String(c.value).split(/[,，、]/).map((v) => v.trim()).filter(Boolean);
        else if (!NO_VALUE.includes(c.op)) out.value = String(c.value ?? "").trim();
        if (fact.scope === "line") out.quantifier = c.quantifier;
        if (fact.param) out.param = parseInt(c.param, 10);
        return out;
      },

      actionJSON(a) {
        const out = { type: a.type };
        for (const k of ACTION_FIELDS[a.type] || []) {
          if (!(OPTIONAL.includes(k) && !a[k])) out[k] = a[k];
        }
        return out;
      },

      get tree() {
        const rows = [];
        const condition = this.walk(this.root, "condition", 0, rows);
        return { rows, condition };
      },

      get payload() {
        return JSON.stringify({
          condition: this.tree.condition,
          actions: this.actionList.map((a) => this.actionJSON(a)),
          enabled: this.enabled,
          dry_run: this.dryRun,
          priority: parseInt(this.priority, 10),
        });
      },

      // --- editing ---------------------------------------------------------------------------------

      fact(c) {
        return facts[c.fact] || { type: "text", scope: "order", choices: [] };
      },
      opsFor(c) {
        return this.ops[this.fact(c).type] || [];
      },
      factsIn(groupKey) {
        return this.facts.filter((f) => f.group === groupKey);
      },
      addComparison(g) {
        const f = this.facts[0];
        g.items.push(comparison(f.name, this.ops[f.type][0][0], ""));
      },
      addGroup(g) {
        g.items.push(group("any", []));
      },
      remove(parent, node) {
        parent.items.splice(parent.items.indexOf(node), 1);
      },
      parentOf(node, g = this.root) {
        if (g.kind !== "group") return null;
        if (g.items.includes(node)) return g;
        for (const c of g.items) {
          const found = this.parentOf(node, c);
          if (found) return found;
        }
        return null;
      },
      factChanged(c) {
        const ops = this.opsFor(c).map((o) => o[0]);
        if (!ops.includes(c.op)) c.op = ops[0];
        const choices = this.fact(c).choices;
        c.value = choices.length ? choices[0] : "";
      },
      valueKind(c) {
        const type = this.fact(c).type;
        if (NO_VALUE.includes(c.op)) return "none";
        if (LISTS.includes(c.op)) return "list";
        if (NUMBERS.includes(type)) return "number";
        if (type === "date") return "date";
        if (type === "choice") return "choice";
        return "text";
      },
      addAction() {
        this.actionList.push(actionFromJSON({ type: "manual_review" }));
      },
      removeAction(a) {
        this.actionList.splice(this.actionList.indexOf(a), 1);
      },
      warehouseOptions(a) {
        const known = this.warehouses.some((w) => w[0] === a.warehouse);
        return known || !a.warehouse ? this.warehouses : [...this.warehouses, [a.warehouse, a.warehouse]];
      },

      // --- errors next to their row ----------------------------------------------------------------

      // Each error goes to the row (or action) whose path is the longest prefix of the error's path.
      get placedErrors() {
        const paths = [...this.tree.rows.map((r) => r.path), ...this.actionList.map((a, i) => `actions[${i}]`), ...SETTINGS];
        const placed = {};
        for (const e of this.errors) {
          const owner = paths
            .filter((p) => e.path === p || e.path.startsWith(p + ".") || e.path.startsWith(p + "["))
            .sort((a, b) => b.length - a.length)[0] || "";
          (placed[owner] = placed[owner] || []).push(e.msg);
        }
        return placed;
      },
      errorsAt(path) {
        return this.placedErrors[path] || [];
      },

      // --- live preview and validation -------------------------------------------------------------

      refresh(payload) {
        if (payload === this.sent) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.ask(payload), 250);
      },
      async ask(payload) {
        this.sent = payload;
        const token = this.$root.querySelector("[name=csrfmiddlewaretoken]").value;
        const response = await fetch(this.previewUrl, {
          method: "POST", body: payload, headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        });
        if (!response.ok || payload !== this.sent) return;
        const answer = await response.json();
        this.preview = answer.preview;
        this.errors = answer.errors;
      },
    };
  });
});
