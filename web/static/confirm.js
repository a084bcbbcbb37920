// Irreversible steps ask first: a form with data-confirm="question" is sent only if the person agrees. Loaded
// only by the pages that have such forms (public pages carry no script); without it the forms still work.
// (A script file, not an inline handler: the pages' Content-Security-Policy allows only scripts with its nonce.)
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
