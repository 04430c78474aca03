// A small client of tether-auth typed from docs/openapi.json by openapi-typescript
// (scripts/ts-check.sh generates ./openapi.ts beside a copy of this file, then runs
// `tsc --noEmit --strict`). It compiles only while the document keeps its closed sets
// closed: a code, role, flow or behaviour typed as any string breaks the exhaustive
// switches (`never`) and the `@ts-expect-error` lines below.
import type { components, operations } from "./openapi";

type Schemas = components["schemas"];
type CallbackBody = Schemas["CallbackBody"];
type AuthSession = Schemas["AuthSessionBody"];
type Role = Schemas["UserBody"]["accessRole"];
type SsoFallback = Schemas["SessionConfigBody"]["ssoFallbackBehavior"];
type Flow = NonNullable<NonNullable<operations["authorize"]["parameters"]["query"]>["flow"]>;

/** The error codes one operation can answer, from every error response it documents. */
type ErrorCodeOf<Op extends { responses: object }> = {
  [S in keyof Op["responses"]]: Op["responses"][S] extends {
    content: { "application/json": { code: infer C } };
  }
    ? C
    : never;
}[keyof Op["responses"]];

type CallbackErrorCode = Exclude<ErrorCodeOf<operations["callback"]>, undefined>;
type LoginDisabledErrorCode = Exclude<ErrorCodeOf<operations["putLoginDisabled"]>, undefined>;
type Session = Schemas["SessionBody"];
type SessionFlow = Session["flow"];
type RefreshErrorCode = Exclude<ErrorCodeOf<operations["refresh"]>, undefined>;

function unreachable(value: never): never {
  throw new Error(`unhandled: ${String(value)}`);
}

/** What the SPA does with each refused login: every code handled, none invented. */
export function onCallbackError(code: CallbackErrorCode): "retry" | "restart" | "step" | "support" {
  switch (code) {
    case "RATE_LIMITED":
    case "UPSTREAM_RATE_LIMITED":
    case "UPSTREAM_UNAVAILABLE":
    case "STORE_UNAVAILABLE":
    case "REQUEST_TIMEOUT":
      return "retry";
    case "INVALID_REQUEST":
    case "PROVIDER_ERROR":
    case "MISSING_CODE":
    case "INVALID_STATE":
    case "INVALID_REDIRECT_URI":
    case "INVALID_CODE":
    case "PAYLOAD_TOO_LARGE":
      return "restart";
    case "EMAIL_VERIFICATION_REQUIRED":
    case "ORGANIZATION_SELECTION_REQUIRED":
    case "MFA_ENROLLMENT":
    case "MFA_CHALLENGE":
    case "SSO_REQUIRED":
    case "ORGANIZATION_AUTHENTICATION_METHODS_REQUIRED":
    case "IDENTITY_VERIFICATION_REQUIRED":
      return "step";
    case "LOGIN_DISABLED":
    case "ORGANIZATION_MISMATCH":
    case "ACCOUNT_LINK_REQUIRED":
    case "NO_ORGANIZATION":
    case "UPSTREAM_MISCONFIGURED":
    case "INTERNAL_ERROR":
      return "support";
    default:
      return unreachable(code);
  }
}

/** Refresh failures: sign in again, or try again later. */
export function onRefreshError(code: RefreshErrorCode): "sign-in" | "retry" {
  switch (code) {
    case "MISSING_REFRESH_TOKEN":
    case "INVALID_REQUEST":
    case "PAYLOAD_TOO_LARGE":
    case "REFRESH_TOKEN_INVALID":
    case "REFRESH_TOKEN_EXPIRED":
    case "REFRESH_TOKEN_REVOKED":
    case "REFRESH_TOKEN_REUSED":
    case "SESSION_EXPIRED":
    case "LOGIN_DISABLED":
      return "sign-in";
    case "REQUEST_TIMEOUT":
    case "RATE_LIMITED":
    case "STORE_UNAVAILABLE":
    case "INTERNAL_ERROR":
      return "retry";
    default:
      return unreachable(code);
  }
}

/** What an administrator's console does with each refused change of a user's sign-in. */
export function onLoginDisabledError(code: LoginDisabledErrorCode): "sign-in" | "fix" | "refused" | "retry" {
  switch (code) {
    case "MISSING_TOKEN":
    case "INVALID_TOKEN":
    case "TOKEN_EXPIRED":
    case "SESSION_REVOKED":
    case "LOGIN_DISABLED":
      return "sign-in";
    case "INVALID_USER_ID":
    case "INVALID_REQUEST":
    case "PAYLOAD_TOO_LARGE":
      return "fix";
    case "FORBIDDEN":
    case "USER_NOT_FOUND":
    case "CANNOT_DISABLE_SELF":
      return "refused";
    case "REQUEST_TIMEOUT":
    case "STORE_UNAVAILABLE":
    case "INTERNAL_ERROR":
      return "retry";
    default:
      return unreachable(code);
  }
}

/** How a list of sessions names the way each one signed in. */
export function sessionFlowLabel(session: Session): string {
  const flow: SessionFlow = session.flow;
  switch (flow) {
    case "sso":
      return "Enterprise SSO";
    case "authkit":
      return "AuthKit";
    case null:
      return "Unknown";
    default:
      return unreachable(flow);
  }
}

/** Every role named: a role added to the document and not here fails the check. */
const roleLabels: Record<Role, string> = {
  SUPERADMIN: "Super administrator",
  ADMIN: "Administrator",
  DEPARTMENT_HEAD: "Department head",
  SALES_REP: "Sales representative",
};

export function roleLabel(role: Role): string {
  return roleLabels[role];
}

/** Every fallback behaviour answered, likewise. */
const silentRenewalFailures: Record<SsoFallback, string> = {
  redirect: "send the user through the identity provider again",
  "reauth-button": "show a sign-in button",
  "force-logout": "end the session",
};

export function onSilentRenewalFailure(behavior: SsoFallback): string {
  return silentRenewalFailures[behavior];
}

export const body: CallbackBody = {
  code: "01JD8ZQ4N5TXKX0V3C8Y5Q2M7B",
  state: "q3ZkVb1cX8yW2nR5tL0pA7eJ",
  redirect_uri: "https://app.tether.example/signin",
};

export const flow: Flow = "authkit";
// @ts-expect-error: flows are a closed set
export const noFlow: Flow = "saml";
// @ts-expect-error: roles are a closed set
export const noRole: Role = "ROOT";
// @ts-expect-error: the flows of a session are a closed set
export const noSessionFlow: SessionFlow = "saml";
// @ts-expect-error: fallback behaviours are a closed set
export const noFallback: SsoFallback = "logout";

export function bearer(session: AuthSession): string {
  return `Bearer ${session.token}`;
}
