// A real BetterAuth 1.7.25 server, configured like stackr-auth (twoFactor, admin and bearer plugins, same
// cookie names), for side-by-side interop tests and the benchmark.
//
// env: BETTER_AUTH_SECRET, DATABASE_URL, PORT, BASE_URL (default http://localhost:$PORT),
//      TRUSTED_ORIGINS (comma list), POOL_SIZE (default 10); with OIDC_DISCOVERY_URL,
//      OIDC_CLIENT_ID and OIDC_CLIENT_SECRET also the OpenID provider `corp` (genericOAuth);
//      BA_USER_FIELDS: stackr-auth's AUTH_USER_FIELDS JSON, as `user.additionalFields`;
//      BA_PLUGINS=off drops twoFactor, admin and bearer, BA_COOKIE_CACHE=on turns BetterAuth's session
//      cookie cache on (both for the get-session benchmark's like-for-like table).
// Runs BetterAuth's own migrations first, then serves; prints "listening <port>" when ready.
import http from "node:http";
import { betterAuth } from "better-auth";
import { twoFactor, admin, genericOAuth, bearer } from "better-auth/plugins";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";
import pg from "pg";

const port = Number(process.env.PORT);
// The last two-factor one-time code sent to each address: the tests read it from
// `GET /test/last-otp?email=…` (BetterAuth's own OTP mail stands in for this map).
const lastOtp = new Map();
const auth = betterAuth({
  baseURL: process.env.BASE_URL || `http://localhost:${port}`,
  secret: process.env.BETTER_AUTH_SECRET,
  database: new pg.Pool({
    connectionString: process.env.DATABASE_URL,
    max: Number(process.env.POOL_SIZE || 10),
  }),
  trustedOrigins: (process.env.TRUSTED_ORIGINS || "").split(",").filter(Boolean),
  // Mail "senders" that drop the message: enough to enable the same endpoints stackr-auth has.
  emailAndPassword: { enabled: true, sendResetPassword: async () => {} },
  emailVerification: { sendVerificationEmail: async () => {} },
  // change-email with a verification mail to the new address, confirmed first by the current
  // address when it is verified
  user: {
    changeEmail: { enabled: true, sendChangeEmailConfirmation: async () => {} },
    additionalFields: Object.fromEntries(
      JSON.parse(process.env.BA_USER_FIELDS || "[]").map(({ name, ...field }) => [name, field]),
    ),
  },
  // Rate limiting is off outside NODE_ENV=production; keep it off explicitly so the benchmark
  // measures session validation, not the limiter.
  rateLimit: { enabled: false },
  ...(process.env.BA_COOKIE_CACHE === "on"
    ? { session: { cookieCache: { enabled: true, maxAge: 300 } } }
    : {}),
  plugins: [
    ...(process.env.BA_PLUGINS === "off" ? [] : [
          twoFactor({ otpOptions: { sendOTP: async ({ user, otp }) => { lastOtp.set(user.email, otp); } } }),
          admin(),
          bearer(),
        ]),
    ...(process.env.OIDC_DISCOVERY_URL
      ? [genericOAuth({ config: [{
          providerId: "corp",
          discoveryUrl: process.env.OIDC_DISCOVERY_URL,
          clientId: process.env.OIDC_CLIENT_ID,
          clientSecret: process.env.OIDC_CLIENT_SECRET,
          scopes: ["email", "profile"],
        }] })]
      : []),
  ],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handler = toNodeHandler(auth);
http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (url.pathname === "/test/last-otp") {
    res.end(lastOtp.get(url.searchParams.get("email")) ?? "");
    return;
  }
  return handler(req, res);
}).listen(port, "127.0.0.1", () => {
  console.log(`listening ${port}`);
});
