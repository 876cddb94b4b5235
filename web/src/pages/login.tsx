import { useState } from 'preact/hooks'
import { ApiError, api } from '../api.ts'

export function Login(props: { onLogin: () => void }) {
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const submit = async (event: Event) => {
    event.preventDefault()
    if (username === '' || password === '') {
      setError('Enter a user name and a password.')
      return
    }
    try {
      await api.login(username, password)
      setError(undefined)
      props.onLogin()
    } catch (failure) {
      setError(failure instanceof ApiError && failure.status === 401 ? 'Authentication failed.' : String(failure))
    }
  }
  return (
    <form class="login panel" onSubmit={submit} noValidate>
      <h1>trino-gateway-lab</h1>
      <label class="field">
        <span>User name</span>
        <input name="username" autocomplete="username" value={username} onInput={(event) => setUsername((event.target as HTMLInputElement).value)} />
      </label>
      <label class="field">
        <span>Password</span>
        <input name="password" type="password" autocomplete="current-password" value={password} onInput={(event) => setPassword((event.target as HTMLInputElement).value)} />
      </label>
      {error !== undefined && <p class="error form-error">{error}</p>}
      <button type="submit" class="primary">Sign in</button>
    </form>
  )
}
