// Sign-in (issue 13 item 4): HTTP Basic credentials checked by /auth/whoami,
// kept in the page's memory (tap.js: gone with a reload) and sent with fetch.
import { whoami, setCredentials, clearCredentials, basicAuthorization } from "./tap.js";
import { escapeHtml } from "./results.js";

/** The signed-in user ({user, staff, projects}) or null. */
export let current = null;

/** Renders the sign-in area into `box`; `changed()` runs after sign-in/out. */
export async function initAuth(box, changed) {
  const render = () => {
    if (current && current.user) {
      box.innerHTML = `<span class="who">signed in as <b>${escapeHtml(current.user)}</b>${current.staff ? " (staff)" : ""}${current.projects?.length ? " · projects " + current.projects.map(escapeHtml).join(", ") : ""}</span> <button type="button" class="sign-out">sign out</button>`;
      box.querySelector(".sign-out").addEventListener("click", () => { clearCredentials(); current = null; render(); changed(); });
    } else {
      box.innerHTML = `<details class="sign-in"><summary>sign in</summary><form>
        <label>user <input name="user" autocomplete="username" required></label>
        <label>password <input name="password" type="password" autocomplete="current-password" required></label>
        <button>sign in</button> <span class="field-error" role="alert"></span></form></details>`;
      const form = box.querySelector("form");
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const err = form.querySelector(".field-error");
        err.textContent = "";
        const user = form.user.value.trim(), password = form.password.value;
        try {
          const me = await whoami(basicAuthorization(user, password));
          if (!me.user) throw new Error("not accepted");
          setCredentials(user, password);
          current = me;
          render();
          changed();
        } catch (e) {
          err.textContent = "sign-in failed: " + e.message;
        }
      });
    }
  };
  render();
}

/** True when the signed-in user may read a product of project `proposal` now. */
export function mayRead(proposal) {
  if (!current) return false;
  return !!current.staff || (current.projects || []).includes(proposal);
}
