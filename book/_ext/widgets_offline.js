// Loaded after require.js and before the ipywidgets HTML manager (embed-amd.js) on pages with
// widgets; see book/_ext/offline_assets.py.
(function () {
  // 1. Fonts: the manager's bundles compute where their font files are from their AMD module
  //    URLs, which require.js resolves relative to the page. Point them at the copy of the
  //    html-manager dist folder in this build, so no request goes anywhere else.
  var dir = new URL("html-manager", document.currentScript.src).href;
  window.__jupyter_widgets_assets_path__ = dir + "/";
  window.require.config({
    paths: { "@jupyter-widgets": dir, "@jupyter-widgets/html-manager/dist": dir },
  });

  // 2. Math in widget labels: html-manager 1.x typesets with MathJax 2's MathJax.Hub.Queue,
  //    which MathJax 3 does not have (a TypeError on every labelled widget). Translate the
  //    call once MathJax 3 is loaded (it is a deferred script, so before DOMContentLoaded).
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.startup) return;
    mj.Hub = {
      Queue: function (job) {
        var element = Array.isArray(job) ? job[2] : undefined;
        mj.startup.promise
          .then(function () { return mj.typesetPromise(element ? [element] : undefined); })
          .catch(function (err) { console.warn("MathJax could not typeset a widget label", err); });
      },
    };
  });
})();
