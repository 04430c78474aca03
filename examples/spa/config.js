// The deployment's settings of this page, loaded by index.html before app.js: the
// origin of the tether-auth API it signs in through. Replace it for your deployment
// (e.g. "https://auth.tether.example"); scripts/run.sh serves on http://localhost:3000.
window.TETHER_API = "http://localhost:3000";
