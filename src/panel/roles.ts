/**
 * Who is a Home Assistant administrator. The ingress headers say who a person is, never their
 * role: the answer comes from Home Assistant itself (src/ha/core-users.ts) and fails closed.
 */
export interface Roles {
  /** True only when Home Assistant says so; unknown (Core unreachable, no answer) is false. */
  isAdmin(userId: string): Promise<boolean>;
}

/** Without the Supervisor (running locally, in tests) nobody is an administrator. */
export const NO_ADMINS: Roles = { isAdmin: async () => false };

/** Asks `roles`, and takes anything but a clear yes (an error included) as no: fail closed. */
export async function isAdmin(roles: Roles, userId: string): Promise<boolean> {
  try {
    return (await roles.isAdmin(userId)) === true;
  } catch {
    return false;
  }
}
