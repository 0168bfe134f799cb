// Accessible names for the ipywidgets controls that the HTML manager draws without one:
// slider handles (axe: aria-input-field-name) get their widget's description, icon-only
// buttons such as Play and Pause (axe: button-name) the name of their icon. Controls that
// already have a name are left alone. The widgets are drawn after the page loads (and
// redrawn when a stack switches), so this runs again whenever the page changes.
(() => {
  const ICONS = {"fa-play": "Play", "fa-pause": "Pause", "fa-stop": "Stop",
                 "fa-repeat": "Repeat", "fa-check": "Check"};
  const label = () => {
    document.querySelectorAll('[role="slider"]:not([aria-label]):not([aria-labelledby])')
      .forEach(handle => {
        const box = handle.closest(".widget-slider, .widget-hslider, .widget-vslider");
        const text = box && box.querySelector(".widget-label");
        handle.setAttribute("aria-label", (text && text.textContent.trim()) || "slider");
      });
    document.querySelectorAll("button.jupyter-button:not([aria-label])").forEach(button => {
      if (button.textContent.trim()) return;
      const icon = button.querySelector("i");
      const cls = icon && [...icon.classList].find(c => ICONS[c]);
      button.setAttribute("aria-label", cls ? ICONS[cls] : (button.title || "button"));
    });
  };
  let queued = false;
  const soon = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; label(); });
  };
  new MutationObserver(soon).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener("DOMContentLoaded", label);
})();
