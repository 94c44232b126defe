// Passkeys in Tessera's pages: the WebAuthn ceremonies (the server's options in WebAuthn's
// JSON form, navigator.credentials, the answer back as JSON). Tessera's own code, no
// third-party script; the ceremonies' state stays on the server.
'use strict';
(() => {
  const $ = (selector) => document.querySelector(selector);
  const supported = () => Boolean(window.PublicKeyCredential
    && PublicKeyCredential.parseRequestOptionsFromJSON
    && PublicKeyCredential.parseCreationOptionsFromJSON);

  function say(message) {
    const el = $('#passkey-error');
    if (el) {
      el.textContent = message;
      el.hidden = false;
    }
  }

  async function post(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body || {}),
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(answer.detail || 'The passkey was not accepted.');
    return answer;
  }

  async function assertion(start, finish, mediation, signal) {
    const { ceremony, options } = await post(start, {});
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey);
    const credential = await navigator.credentials.get({ publicKey, mediation, signal });
    return post(finish, { ceremony, credential: credential.toJSON() });
  }

  // Signed in: the page's authorization request (its hidden fields) goes on, with the
  // CSRF token of the new session.
  function proceed(done) {
    const source = $('form[data-request]');
    const form = document.createElement('form');
    form.method = 'post';
    form.action = done.next;
    const fields = source ? source.querySelectorAll('input[type="hidden"]') : [];
    for (const input of fields) {
      if (input.name !== 'csrf') {
        form.append(Object.assign(document.createElement('input'),
          { type: 'hidden', name: input.name, value: input.value }));
      }
    }
    form.append(Object.assign(document.createElement('input'),
      { type: 'hidden', name: 'csrf', value: done.csrf }));
    document.body.append(form);
    form.submit();
  }

  // The login page: "Sign in with a passkey", and autofill where the browser offers it.
  const signin = $('#passkey-signin');
  if (signin && supported()) {
    signin.hidden = false;
    let autofill = null;
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
        if (!available) return;
        autofill = new AbortController();
        assertion('/webauthn/login/start', '/webauthn/login/finish', 'conditional', autofill.signal)
          .then(proceed)
          .catch(() => {});
      });
    }
    signin.addEventListener('click', () => {
      if (autofill) autofill.abort();
      assertion('/webauthn/login/start', '/webauthn/login/finish', 'optional')
        .then(proceed)
        .catch((e) => say(e.message));
    });
  }

  // The second-factor page: a passkey instead of a code.
  const second = $('#passkey-second-factor');
  if (second && supported()) {
    second.hidden = false;
    second.addEventListener('click', () => {
      assertion('/webauthn/second-factor/start', '/webauthn/second-factor/finish', 'optional')
        .then(proceed)
        .catch((e) => say(e.message));
    });
  }

  // The account page: add a passkey.
  const add = $('#passkey-add');
  if (add && supported()) {
    add.hidden = false;
    add.addEventListener('click', async () => {
      try {
        const csrf = $('#security input[name="csrf"]').value;
        const password = ($('#passkey-password') || { value: '' }).value;
        const { ceremony, options } = await post('/webauthn/register/start',
          { csrf, current_password: password });
        const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey);
        const credential = await navigator.credentials.create({ publicKey });
        const name = ($('#passkey-name') || { value: '' }).value;
        const done = await post('/webauthn/register/finish',
          { csrf, ceremony, name, credential: credential.toJSON() });
        const list = $('#passkey-codes');
        if (done.recovery_codes && done.recovery_codes.length && list) {
          list.replaceChildren(...done.recovery_codes.map((code) => {
            const item = document.createElement('li');
            item.append(Object.assign(document.createElement('code'), { textContent: code }));
            return item;
          }));
          $('#passkey-codes-box').hidden = false;
        } else {
          window.location.reload();
        }
      } catch (e) {
        say(e.message);
      }
    });
  }
})();
