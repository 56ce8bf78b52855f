// The login page's script: it keeps the session token the daemon handed
// this origin in localStorage (this port's alone: the cookie, which every
// port of 127.0.0.1 receives, is not enough without it), then opens the
// UI in place of the login URL, so the one-time token leaves the history.
const meta = document.querySelector('meta[name="clauderon-csrf"]');
if (meta && meta.content) {
  localStorage.setItem('clauderon-csrf', meta.content);
  location.replace('/');
}
