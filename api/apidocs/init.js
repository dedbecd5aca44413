// Renders /api/openapi.json; a separate file so the page's CSP needs no inline script.
window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
