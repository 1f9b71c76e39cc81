// Drives a server with BetterAuth's own JS client (`createAuthClient`): sign up, get session,
// sign out, sign in, wrong password. Prints one JSON object with what the client saw; exits 1 if
// any step misbehaves. A small cookie jar stands in for the browser.
//
// usage: node client-flow.mjs <baseURL> <origin> <email>
import { createAuthClient } from "better-auth/client";

const [baseURL, origin, email] = process.argv.slice(2);
const jar = new Map();

async function fetchWithCookies(url, init = {}) {
  const headers = new Headers(init.headers || {});
  if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
  headers.set("origin", origin);
  const res = await fetch(url, { ...init, headers });
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(";");
    const i = pair.indexOf("=");
    const name = pair.slice(0, i), value = pair.slice(i + 1);
    if (!value || attrs.some((a) => a.trim() === "Max-Age=0")) jar.delete(name);
    else jar.set(name, value);
  }
  return res;
}

const client = createAuthClient({ baseURL, fetchOptions: { customFetchImpl: fetchWithCookies } });
const out = {};
const fail = (msg) => { console.log(JSON.stringify({ ...out, failure: msg })); process.exit(1); };

const up = await client.signUp.email({ name: "Interop", email, password: "interop-password-1" });
if (up.error) fail(`signUp: ${JSON.stringify(up.error)}`);
out.signUpUserEmail = up.data.user.email;
out.signUpToken = up.data.token;
out.signUpCreatedAtIsDate = up.data.user.createdAt instanceof Date;

const s1 = await client.getSession();
if (s1.error || !s1.data) fail(`getSession after sign-up: ${JSON.stringify(s1)}`);
out.sessionEmail = s1.data.user.email;
out.sessionUserId = s1.data.user.id;
out.sessionToken = s1.data.session.token;
out.sessionExpiresAtIsDate = s1.data.session.expiresAt instanceof Date;

const so = await client.signOut();
if (so.error) fail(`signOut: ${JSON.stringify(so.error)}`);
out.signOut = so.data;
const s2 = await client.getSession();
out.sessionAfterSignOut = s2.data;

const bad = await client.signIn.email({ email, password: "wrong-password-1" });
out.wrongPasswordError = bad.error && { status: bad.error.status, code: bad.error.code, message: bad.error.message };

const inn = await client.signIn.email({ email, password: "interop-password-1" });
if (inn.error) fail(`signIn: ${JSON.stringify(inn.error)}`);
out.signInRedirect = inn.data.redirect;
const s3 = await client.getSession();
out.sessionAfterSignIn = s3.data && s3.data.user.email;
out.cookieNames = [...jar.keys()];

console.log(JSON.stringify(out));
