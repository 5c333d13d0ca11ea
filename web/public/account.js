// Posts the link token of /verify-email and /reset-password pages to the API.
(function () {
  const token = new URLSearchParams(location.search).get('token') || '';
  const result = document.getElementById('result');
  function show(ok, text) { result.className = ok ? 'ok' : 'error'; result.textContent = text; }
  async function post(path, body) {
    const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (response.ok) return null;
    const problem = await response.json().catch(() => ({}));
    const fields = (problem.errors || []).map(e => e.message).join(' ');
    return (problem.detail || 'Something went wrong.') + (fields ? ' ' + fields : '');
  }
  const verify = document.getElementById('verify');
  if (verify) verify.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = await post('/api/v1/auth/verify-email', { token });
    show(!error, error || 'Your e-mail address is confirmed. You can log in now.');
  });
  const reset = document.getElementById('reset');
  if (reset) reset.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = await post('/api/v1/auth/password/reset', { token, new_password: reset.new_password.value });
    show(!error, error || 'Your password is changed. Log in with the new one.');
  });
})();
