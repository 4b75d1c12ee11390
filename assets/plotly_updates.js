/* One plotly update at a time per chart.
 *
 * dcc.Graph draws each new figure with Plotly.react. When two figures reach a map in quick
 * succession (a shared link restoring a view, a slow machine), the second react ran while
 * maplibre was still loading the first one's style, and threw "Style is not done loading"
 * (uncaught, in the console; reproduced with Plotly.newPlot followed at once by Plotly.react).
 * Here each call on a chart waits for the previous call's promise (plotly resolves it once the
 * map has loaded); a call that is no longer the latest when its turn comes is skipped, since
 * every figure Dash sends is complete. The first call on an idle chart starts at once, as before.
 */
(function () {
  "use strict";

  function serialise(P) {
    if (!P || P.__asmSerialised) { return; }
    P.__asmSerialised = true;
    ["newPlot", "react"].forEach(function (name) {
      var orig = P[name];
      if (typeof orig !== "function") { return; }
      P[name] = function (gd) {
        var el = typeof gd === "string" ? document.getElementById(gd) : gd;
        var self = this;
        var args = arguments;
        if (!el) { return orig.apply(self, args); }
        var ticket = (el.__asmTicket || 0) + 1;
        el.__asmTicket = ticket;
        var run;
        if (!el.__asmPending) {
          run = Promise.resolve(orig.apply(self, args));
        } else {
          var next = function () { return ticket === el.__asmTicket ? orig.apply(self, args) : el; };
          run = el.__asmPending.then(next, next);
        }
        el.__asmPending = run;
        var done = function () { if (el.__asmPending === run) { el.__asmPending = null; } };
        run.then(done, done);
        return run;
      };
    });
  }

  if (window.Plotly) {
    serialise(window.Plotly);
  } else {
    var held;
    Object.defineProperty(window, "Plotly", {
      configurable: true,
      enumerable: true,
      get: function () { return held; },
      set: function (value) { held = value; serialise(value); },
    });
  }
})();
