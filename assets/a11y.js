/*
 * Accessible markup for Dash 4 components whose own markup fails axe-core (tests/browser/test_accessibility.py):
 *  - Checklist / RadioItems: a role="listbox" of role="option" labels that wrap native inputs (nested
 *    interactive controls, a listbox without a name). The native inputs in their labels are already
 *    accessible: the ARIA roles go, and the group is named by the field's label.
 *  - Slider / RangeSlider: the thumbs (role="slider") and the number boxes get the field's label as name.
 *  - Dropdown: its focus proxy (a read-only input) is focusable but aria-hidden: it is named instead.
 *  - DatePickerRange: aria-expanded on a plain div, aria-label on an <a> without a role.
 *  - Upload: its file input (hidden behind the button) has no name.
 * Repairs are idempotent and re-applied when Dash re-renders a component (MutationObserver).
 */
(function () {
  "use strict";

  function labelOf(el) {
    const field = el.closest("[aria-labelledby]");
    const id = field && field.getAttribute("aria-labelledby");
    const label = id && document.getElementById(id.split(" ")[0]);
    return label ? { id: label.id, text: label.textContent.trim() } : null;
  }

  function set(el, name, value) {
    if (el.getAttribute(name) !== value) { el.setAttribute(name, value); }
  }

  function drop(el, name) {
    if (el.hasAttribute(name)) { el.removeAttribute(name); }
  }

  function repair(root) {
    root.querySelectorAll(".dash-options-list").forEach(function (list) {
      const label = labelOf(list);
      set(list, "role", list.classList.contains("dash-radioitems") ? "radiogroup" : "group");
      if (label) { set(list, "aria-labelledby", label.id); }
      list.querySelectorAll(".dash-options-list-option").forEach(function (opt) {
        drop(opt, "role");
        drop(opt, "aria-selected");
      });
    });
    root.querySelectorAll(".dash-slider-container").forEach(function (slider) {
      const label = labelOf(slider);
      if (!label) { return; }
      const thumbs = slider.querySelectorAll("[role=slider]");
      const ends = thumbs.length > 1 ? ["near", "outer"] : [null];
      thumbs.forEach(function (thumb, i) {
        set(thumb, "aria-label", ends[i] ? label.text + ": " + ends[i] : label.text);
      });
      slider.querySelectorAll("input[type=number]").forEach(function (box) {
        const end = box.classList.contains("dash-range-slider-min-input") && thumbs.length > 1 ? "near"
          : (thumbs.length > 1 ? "outer" : null);
        set(box, "aria-label", end ? label.text + ": " + end : label.text);
      });
    });
    root.querySelectorAll(".dash-dropdown-focus-target").forEach(function (proxy) {
      const label = labelOf(proxy);
      drop(proxy, "aria-hidden");
      if (label) { set(proxy, "aria-label", label.text); }
    });
    root.querySelectorAll("div > input[type=file]").forEach(function (input) {
      // dcc.Upload's hidden file input: the button beside it is the control; the input is named after it
      const button = input.parentElement.querySelector("button");
      if (button) { set(input, "aria-label", button.textContent.trim()); }
      set(input, "tabindex", "-1");
    });
    root.querySelectorAll(".dash-datepicker-input-wrapper[aria-expanded]").forEach(function (wrapper) {
      drop(wrapper, "aria-expanded");
      drop(wrapper, "aria-haspopup");
    });
    root.querySelectorAll("a.dash-datepicker-clear").forEach(function (clear) {
      set(clear, "role", "button");
      if (!clear.hasAttribute("tabindex")) { clear.setAttribute("tabindex", "0"); }
    });
  }

  let pending = false;
  function schedule() {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      repair(document);
    });
  }

  function start() {
    document.documentElement.lang = document.documentElement.lang || "en";
    repair(document);
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, attributes: true,
      attributeFilter: ["role", "aria-hidden", "aria-expanded", "aria-selected"],
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
