// Who is logged in (GET /api/v1/auth/me), shared by the pages.
import { api } from "../api/client";

export const session = $state<{ user: { id: number; name: string } | null; checked: boolean }>({
  user: null,
  checked: false,
});

export async function whoami(): Promise<void> {
  const { data } = await api.GET("/api/v1/auth/me");
  session.user = data?.user ?? null;
  session.checked = true;
}
