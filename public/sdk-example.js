// An integration of the SDK widgets (what an app would write), used by the browser tests.
(function () {
  "use strict";
  const apiKey = new URLSearchParams(location.search).get("api_key") || "";
  const auth = window.AuthService.createClient({ baseUrl: location.origin, apiKey });
  const button = auth.mountUserButton("#user", { onSignOut: () => document.getElementById("profile").replaceChildren() });
  const signedIn = () => { button.refresh(); auth.mountUserProfile("#profile"); };
  auth.mountSignIn("#signin", { onSuccess: signedIn });
  auth.mountSignUp("#signup", { onSuccess: signedIn });
  button.refresh();
  window.exampleAuth = auth;
})();
