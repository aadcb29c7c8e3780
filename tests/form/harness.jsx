// The page the browser test drives: the host snippet of docs/settings-form.md (written beside this file as
// host.jsx when the bundle is built), mounted with test hooks on `window`.
import { createRef } from "react";
import { createRoot } from "react-dom/client";
import { flushSync } from "react-dom";
import { SettingsForm, validator } from "./host.jsx";

const root = createRoot(document.getElementById("app"));
const form = createRef();
let manifest = null;

// Renders the form for `settings` (replacing any form already shown).
window.mount = (theManifest, settings) => {
  manifest = theManifest;
  window.saved = [];
  flushSync(() => root.render(null));
  flushSync(() =>
    root.render(
      <SettingsForm
        ref={form}
        manifest={manifest}
        settings={settings}
        onSave={(saved) => window.saved.push(saved)}
      />,
    ),
  );
};

// Validates what the form holds, as the Save button does, and shows the errors; true when valid.
window.validateShown = () => {
  let valid;
  flushSync(() => {
    valid = form.current.validateForm();
  });
  return valid;
};

// The validator's verdict alone (no rendering): the error messages for `settings`.
window.check = (settings) =>
  validator
    .validateFormData(settings, manifest.settings_schema)
    .errors.map((error) => error.stack);
