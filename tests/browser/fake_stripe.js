// A small stand-in for Stripe.js (https://js.stripe.com/<version>/stripe.js), served to the browser by the browser
// tests because there is no network locally. It offers what @stripe/react-stripe-js and the app use: elements() with
// a Payment Element (plain labelled fields, no iframe) and confirmSetup(), which confirms the API's SetupIntent
// through https://api.stripe.com -- the test routes those calls to stripe-mock. No card data goes anywhere else.
(function () {
  function FakeStripe(publishableKey) {
    var noop = function () {};
    return {
      version: 3,
      _registerWrapper: noop,
      registerAppInfo: noop,
      createToken: noop,
      createPaymentMethod: noop,
      confirmCardPayment: noop,
      elements: function (options) {
        var elements = {
          _clientSecret: options && options.clientSecret,
          update: noop,
          on: noop,
          off: noop,
          getElement: function () { return null; },
          submit: function () { return Promise.resolve({}); },
          create: function () {
            var node = null;
            return {
              mount: function (domNode) {
                node = domNode;
                node.innerHTML =
                  '<label for="fake-card-number">Card number</label> ' +
                  '<input id="fake-card-number" inputmode="numeric" autocomplete="off" value="4242 4242 4242 4242">';
              },
              on: noop, off: noop, update: noop, focus: noop, blur: noop, clear: noop,
              unmount: function () { if (node) node.innerHTML = ""; },
              destroy: function () { if (node) node.innerHTML = ""; },
            };
          },
        };
        return elements;
      },
      confirmSetup: function (args) {
        var secret = args.elements._clientSecret;
        var id = secret.split("_secret_")[0];
        // A simple form POST (no preflight), the key in the body as Stripe.js sends it.
        var body = new URLSearchParams({ key: publishableKey, client_secret: secret, payment_method: "pm_card_visa" });
        return fetch("https://api.stripe.com/v1/setup_intents/" + id + "/confirm", { method: "POST", body: body })
          .then(function (r) { return r.json(); })
          .then(function (json) { return json.error ? { error: json.error } : { setupIntent: json }; });
      },
    };
  }
  window.Stripe = FakeStripe;
})();
