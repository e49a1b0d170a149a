// A certified OpenID Provider (panva/node-oidc-provider) on loopback, for tests only.
//
//   node tests/oidc/provider.mjs CONFIG.json
//
// CONFIG.json (tests/fixtures/oidc.py writes it):
//   port          port on 127.0.0.1 (0: any free one)
//   issuer_path   path of the issuer under http://127.0.0.1:PORT ("" or e.g. "/tenant-a/v2.0")
//   clients       [{client_id, client_secret, redirect_uris, post_logout_redirect_uris,
//                   token_endpoint_auth_method: client_secret_basic | client_secret_post}]
//   accounts      {login name: claims}; claims.sub is the subject (the login name when absent)
//   passwords     {login name: password}; an account not listed takes "x"
//   jwks          {keys: [private RSA JWKs]}: every key is published, the first one signs
//   claims        {scope: [claim names]} (oidc-provider's `claims`); the claims of the granted scopes go
//                 into the ID token too (conformIdTokenClaims: false)
//   ttl           {IdToken: seconds, AccessToken: seconds, ...}
//   cookie_keys   [secret, ...] signing the provider's cookies
//
// Prints one line "ready ORIGIN ISSUER" when it listens. SIGHUP re-reads CONFIG.json and swaps in a
// provider built from it (new keys, clients, accounts, claims, TTLs) on the same port and issuer, keeping
// sessions and grants (oidc-provider's in-memory store is shared by the process), then prints
// "reloaded". SIGTERM closes the listener and exits 0; so does the end of stdin when
// OIDC_PROVIDER_WATCH_STDIN=1.
//
// The sign-in pages are this file's own (not devInteractions, which signs in any login name without a
// password): a login form (fields login, password; a wrong password shows the form again with status
// 401), a consent form, and an abort form ("cancel") that ends the flow with error=access_denied.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { URL } from 'node:url';

import Provider from 'oidc-provider';

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write('usage: node provider.mjs CONFIG.json\n');
  process.exit(2);
}

const STANDARD_SCOPES = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username',
    'picture', 'locale', 'zoneinfo', 'updated_at'],
};

function readConfig() {
  return JSON.parse(readFileSync(configPath, 'utf8'));
}

const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

// Claims of the accounts outside the standard scopes are released with the `openid` scope, so every
// ID token carries them unless the config says otherwise; with `userinfoOnly` they go with `profile`,
// which conformIdTokenClaims keeps to userinfo (in the code flow).
function defaultClaims(accounts, userinfoOnly = false) {
  const standard = new Set(Object.values(STANDARD_SCOPES).flat());
  const extra = new Set();
  for (const claims of Object.values(accounts)) {
    for (const name of Object.keys(claims)) {
      if (!standard.has(name)) extra.add(name);
    }
  }
  if (userinfoOnly) return { ...STANDARD_SCOPES, profile: [...STANDARD_SCOPES.profile, ...extra] };
  return { ...STANDARD_SCOPES, openid: ['sub', ...extra] };
}

function buildProvider(config, issuer, mountPath) {
  const accounts = config.accounts ?? {};
  const passwords = config.passwords ?? {};
  const bySub = new Map();
  for (const [login, claims] of Object.entries(accounts)) {
    bySub.set(String(claims.sub ?? login), { login, claims: { ...claims, sub: String(claims.sub ?? login) } });
  }
  const ttl = config.ttl ?? {};

  const provider = new Provider(issuer, {
    clients: (config.clients ?? []).map((client) => ({
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...client,
    })),
    // key_ops ["sign"] (PyJWT writes it) would keep the provider from checking its own id_token_hint.
    jwks: { keys: (config.jwks?.keys ?? []).map(({ key_ops: _ops, ...key }) => key) },
    claims: config.claims ?? defaultClaims(accounts, config.conform_id_token_claims ?? false),
    // true: the claims of the granted scopes go to userinfo only, as Clever's and ClassLink's tenant and
    // role claims do; false (default): into the ID token too.
    conformIdTokenClaims: config.conform_id_token_claims ?? false,
    cookies: {
      keys: config.cookie_keys ?? ['oidc-test-provider-cookie-key'],
      // Distinct from any cookie the relying party sets on the same host (cookies ignore ports).
      names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_interaction_resume' },
    },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          // The confirmation button inside the form, so a plain HTML form parser can submit it.
          const withButton = form.replace('</form>',
            '<button type="submit" name="logout" value="yes">Yes, sign me out</button></form>');
          ctx.type = 'html';
          ctx.body = page('Sign out', withButton);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = page('Signed out', '<p>You are signed out.</p>');
        },
      },
    },
    // A short page: a test's failure message shows the error, not a stylesheet.
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page(out.error, `<p class="error">${escapeHtml(out.error)}: ${escapeHtml(out.error_description ?? '')}</p>`);
    },
    interactions: {
      url: (ctx, interaction) => `${mountPath}/interaction/${interaction.uid}`,
    },
    findAccount: async (ctx, sub) => {
      const account = bySub.get(String(sub));
      if (!account) return undefined;
      return { accountId: account.claims.sub, claims: async () => ({ ...account.claims }) };
    },
    ttl: {
      AccessToken: ttl.AccessToken ?? 600,
      AuthorizationCode: ttl.AuthorizationCode ?? 60,
      IdToken: ttl.IdToken ?? 600,
      Interaction: ttl.Interaction ?? 600,
      Session: ttl.Session ?? 3600,
      Grant: ttl.Grant ?? 3600,
      RefreshToken: ttl.RefreshToken ?? 3600,
    },
  });

  // Every refusal in the provider's log (the test's log_path), with the cause a response hides.
  for (const event of ['authorization.error', 'grant.error', 'end_session.error', 'userinfo.error',
    'introspection.error', 'revocation.error', 'jwks.error', 'discovery.error', 'server_error']) {
    provider.on(event, (ctx, err) => {
      const cause = err.cause ? ` (cause: ${err.cause.message ?? err.cause})` : '';
      process.stderr.write(`${event}: ${err.message}${err.error_description ? `: ${err.error_description}` : ''}${cause}\n`);
    });
  }

  // Checks a login form: the account's sub when the login name and password match.
  const checkLogin = (login, password) => {
    const claims = Object.hasOwn(accounts, login) ? accounts[login] : undefined;
    if (!claims) return undefined;
    if (String(password ?? '') !== String(passwords[login] ?? 'x')) return undefined;
    return String(claims.sub ?? login);
  };
  return { provider, checkLogin, handler: provider.callback() };
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

function loginPage(uid, mountPath, details, error) {
  const action = `${mountPath}/interaction/${uid}`;
  const hint = details.params.login_hint ? ` value="${escapeHtml(details.params.login_hint)}"` : '';
  return page('Sign in', `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}`
    + `<form method="post" action="${action}/login">`
    + `<input type="text" name="login"${hint}><input type="password" name="password">`
    + '<button type="submit">Sign in</button></form>'
    + `<form method="post" action="${action}/abort"><button type="submit">Cancel</button></form>`);
}

function consentPage(uid, mountPath, details) {
  const action = `${mountPath}/interaction/${uid}`;
  const scopes = escapeHtml(details.params.scope ?? '');
  return page('Authorize', `<p>${escapeHtml(details.params.client_id)} asks for: ${scopes}</p>`
    + `<form method="post" action="${action}/confirm"><button type="submit">Continue</button></form>`
    + `<form method="post" action="${action}/abort"><button type="submit">Cancel</button></form>`);
}

// The sign-in pages: /interaction/:uid (GET), /interaction/:uid/login|confirm|abort (POST).
async function interaction({ provider, checkLogin }, mountPath, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, page('Error', '<p>interaction mismatch</p>'));
    return;
  }
  const { prompt } = details;
  if (req.method === 'GET' && !action) {
    const html = prompt.name === 'login' ? loginPage(uid, mountPath, details) : consentPage(uid, mountPath, details);
    send(res, 200, html);
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, page('Error', '<p>method not allowed</p>'));
    return;
  }
  if (action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'login' && prompt.name === 'login') {
    const form = await readForm(req);
    const sub = checkLogin(form.get('login'), form.get('password'));
    if (!sub) {
      send(res, 401, loginPage(uid, mountPath, details, 'Invalid login or password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    const { grantId, session, params } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scope] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scope.join(' '));
      }
    }
    await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, {
      mergeWithLastSubmission: true,
    });
    return;
  }
  send(res, 400, page('Error', `<p>unexpected ${escapeHtml(action)} at prompt ${escapeHtml(prompt.name)}</p>`));
}

const initial = readConfig();
const mountPath = (initial.issuer_path ?? '').replace(/\/+$/, '');
let current; // { provider, checkLogin, handler }

const server = createServer((req, res) => {
  const { handler } = current;
  const url = new URL(req.url, 'http://127.0.0.1');
  if (mountPath && !(url.pathname === mountPath || url.pathname.startsWith(`${mountPath}/`))) {
    send(res, 404, page('Not found', ''));
    return;
  }
  const inner = url.pathname.slice(mountPath.length) || '/';
  const match = /^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/.exec(inner);
  if (match) {
    interaction(current, mountPath, req, res, match[1], match[2]).catch((err) => {
      process.stderr.write(`interaction error: ${err.stack ?? err}\n`);
      if (!res.headersSent) send(res, 400, page('Error', `<p>${escapeHtml(err.message)}</p>`));
    });
    return;
  }
  // As a framework's mount does: the provider sees its own path, originalUrl keeps the full one.
  req.originalUrl = req.url;
  req.url = inner + url.search;
  handler(req, res);
});

server.listen(initial.port ?? 0, '127.0.0.1', () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  const issuer = `${origin}${mountPath}`;
  const build = (config) => buildProvider(config, issuer, mountPath);
  current = build(initial);
  process.on('SIGHUP', () => {
    try {
      current = build(readConfig());
      process.stdout.write('reloaded\n');
    } catch (err) {
      process.stderr.write(`reload failed: ${err.stack ?? err}\n`);
      process.stdout.write(`reload-failed ${String(err.message ?? err).replace(/\s+/g, ' ')}\n`);
    }
  });
  process.stdout.write(`ready ${origin} ${issuer}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Started with a pipe on stdin (tests/fixtures/oidc.py does): its end means the test run is gone, even
// killed without a chance to stop us, so we go too rather than keep the port.
if (process.env.OIDC_PROVIDER_WATCH_STDIN === '1') {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
