// "/sign-in" and "/sign-up".

import { h, replace, uid } from '../dom';
import { LoginDocument, RegisterDocument, type UserErrorFieldsFragment } from '../generated/graphql';
import { ApiError, request } from '../graphql';
import { apiErrorMessage, userErrorMessage } from '../messages';
import { accountLink, localPath, navigate, type Page } from '../router';
import * as session from '../session';

function field(name: string, label: string, attrs: Record<string, string | number | boolean>, hint?: string) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  return h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('input', { id, name, 'aria-describedby': [hintId, errorId].filter(Boolean).join(' '), ...attrs }),
    h('p', { class: 'field-error', id: errorId }),
  );
}

/** Where to go once signed in: `next` when it is a path of this storefront. */
function nextPath(query: URLSearchParams): string {
  return localPath(query.get('next')) ?? '/';
}

function accountForm(
  submitLabel: string,
  fields: HTMLElement[],
  run: (values: FormData) => Promise<readonly UserErrorFieldsFragment[] | null>,
): HTMLFormElement {
  const error = h('div', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, submitLabel);
  const form = h('form', { class: 'account' }, fields, error, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const p of form.querySelectorAll('.field-error')) p.textContent = '';
    for (const input of form.querySelectorAll('input')) input.removeAttribute('aria-invalid');
    replace(error);
    submit.disabled = true;
    try {
      const problems = await run(new FormData(form));
      if (!problems?.length) return;
      let focused = false;
      for (const problem of problems) {
        const name = problem.field?.[problem.field.length - 1];
        const holder = name ? form.querySelector(`[data-field="${name}"]`) : null;
        const input = holder?.querySelector('input');
        if (holder && input) {
          (holder.querySelector('.field-error') as HTMLElement).textContent = userErrorMessage(problem);
          input.setAttribute('aria-invalid', 'true');
          if (!focused) input.focus();
          focused = true;
        } else {
          error.append(h('p', null, userErrorMessage(problem)));
        }
      }
    } catch (e) {
      replace(error, apiErrorMessage(e instanceof ApiError ? e.code : undefined));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export const signIn: Page = async (_params, query) => {
  const reason = session.takeEndedReason();
  const form = accountForm(
    'Sign in',
    [
      field('email', 'Email', { type: 'email', autocomplete: 'username', required: true }),
      field('password', 'Password', { type: 'password', autocomplete: 'current-password', required: true }),
    ],
    async (values) => {
      const result = await request(LoginDocument, {
        input: { email: String(values.get('email') ?? ''), password: String(values.get('password') ?? '') },
      });
      const payload = result.login;
      if (payload?.session) {
        session.start(payload.session);
        navigate(nextPath(query), { replace: true });
        return null;
      }
      return payload?.userErrors ?? [];
    },
  );
  return {
    title: 'Sign in',
    node: h('section', { class: 'narrow' },
      h('h1', null, 'Sign in'),
      reason ? h('p', { class: 'notice', role: 'status' }, reason) : null,
      form,
      h('p', null, 'New here? ', h('a', { href: accountLink('/sign-up', localPath(query.get('next'))) }, 'Create an account'))),
  };
};

export const signUp: Page = async (_params, query) => {
  const form = accountForm(
    'Create account',
    [
      field('displayName', 'Your name', { type: 'text', autocomplete: 'name', required: true, maxlength: 120 }, 'Shown with your reviews.'),
      field('email', 'Email', { type: 'email', autocomplete: 'email', required: true }),
      field('password', 'Password', { type: 'password', autocomplete: 'new-password', required: true }, 'At least 10 characters; not a common password.'),
    ],
    async (values) => {
      const result = await request(RegisterDocument, {
        input: {
          displayName: String(values.get('displayName') ?? ''),
          email: String(values.get('email') ?? ''),
          password: String(values.get('password') ?? ''),
        },
      });
      const payload = result.register;
      if (payload?.session) {
        session.start(payload.session);
        navigate(nextPath(query), { replace: true });
        return null;
      }
      return payload?.userErrors ?? [];
    },
  );
  return {
    title: 'Create account',
    node: h('section', { class: 'narrow' },
      h('h1', null, 'Create an account'),
      form,
      h('p', null, 'Already have one? ', h('a', { href: accountLink('/sign-in', localPath(query.get('next'))) }, 'Sign in'))),
  };
};
